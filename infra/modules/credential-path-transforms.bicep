// Ingestion-time transformations on the Log Analytics workspace that scrub invitation links and OAuth callbacks from
// the Functions host's own telemetry. The worker's spans are scrubbed by its span processor
// (shared/platform/telemetry-scrub.ts), but in the OpenTelemetry telemetry mode the host records its own request span
// and logs, where no processor of ours runs: an `/authenticate/{linkId}` URL would reach AppRequests as is.
// A workspace transformation DCR (kind WorkspaceTransforms) rewrites each record before it is stored
// (https://learn.microsoft.com/azure/azure-monitor/data-collection/data-collection-transformations-workspace).

@description('The Log Analytics workspace behind Application Insights.')
@minLength(4)
param workspaceName string

@description('Where the workspace is.')
param location string

param tags object

@description('The workspace\'s SKU and retention, repeated because attaching the DCR re-puts the workspace.')
param sku string
param retentionInDays int

@description('The name of the workspace transformation data collection rule.')
@minLength(4)
param ruleName string

// The same paths as the worker's scrubber: every segment after /authenticate (or /api/authenticate), and the query,
// is a bearer credential (an invitation link id, a one-time launch token, an authorization code and its state).
// Kept in .kql files so that the compiled template holds the queries as Azure runs them (test/infra reads them).
var requestsKql = loadTextContent('transforms/app-requests.kql')
var tracesKql = loadTextContent('transforms/app-traces.kql')

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: ruleName
  location: location
  tags: tags
  kind: 'WorkspaceTransforms'
  properties: {
    destinations: {
      logAnalytics: [
        {
          name: 'workspace'
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: ['Microsoft-Table-AppRequests']
        destinations: ['workspace']
        transformKql: requestsKql
      }
      {
        streams: ['Microsoft-Table-AppTraces']
        destinations: ['workspace']
        transformKql: tracesKql
      }
    ]
  }
}

// A workspace has one default (transformation) DCR; naming it re-puts the workspace with its own settings.
resource attached 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: { name: sku }
    retentionInDays: retentionInDays
    defaultDataCollectionRuleResourceId: rule.id
  }
}

output ruleId string = rule.id
