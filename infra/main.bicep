// Direct Routing Hub on Azure: the Function App (Flex Consumption, Node 22, managed identity), its storage with every
// table and queue the code uses, Key Vault, Application Insights, the email service, and DNS Zone Contributor on the
// provider's existing DNS zone. `azd up` deploys it (azure.yaml); docs/deploy.md walks through the parameters.
targetScope = 'resourceGroup'

@description('Short prefix of every resource name (letters and digits).')
@minLength(3)
@maxLength(12)
param namePrefix string

param location string = resourceGroup().location

@description('Entra tenant that issues the provider portal\'s and operators\' access tokens (API_TENANT_ID).')
param apiTenantId string

@description('Audience of those tokens: the API app registration\'s identifier URI (API_AUDIENCE).')
param apiAudience string

@description('MultiTenant Tenant License Count (LICENSE_TENANT_COUNT).')
@minValue(0)
param licenseTenantCount int

@description('MultiTenant User License Count (LICENSE_USER_COUNT).')
@minValue(0)
param licenseUserCount int

@description('Expiration Date of the licence, YYYY-MM-DD (LICENSE_EXPIRES); empty for none.')
param licenseExpires string = ''

@secure()
@description('32 random bytes, base64 (openssl rand -base64 32): seals secrets at rest. Stored in Key Vault.')
param secretsEncryptionKey string

@description('The public base URL customers\' admins use (custom domain); empty = the Function App\'s own host name.')
param publicBaseUrl string = ''

@description('The provider\'s existing Azure DNS zone for fully automatic DNS; empty = no role assignment.')
param dnsZoneName string = ''

@description('Resource group of that DNS zone; empty = this resource group.')
param dnsZoneResourceGroup string = ''

@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@description('Where the email service keeps its data.')
param emailDataLocation string = 'Europe'

var suffix = uniqueString(resourceGroup().id, namePrefix)
var storageName = toLower(take('${namePrefix}${suffix}', 24))
var functionAppName = '${namePrefix}-func-${suffix}'
var keyVaultName = take('${namePrefix}-kv-${suffix}', 24)
var deploymentContainer = 'app-package'

// Every table and queue the code uses (test/infra/bicep.test.ts keeps this list and the code in step).
var tableNames = [
  'customers'
  'providersettings'
  'onboardingsettings'
  'invitations'
  'wizardsessions'
  'credentials'
  'consentflows'
  'alarms'
  'emailoutbox'
  'scripttemplates'
  'customersites'
  'tasks'
  'replication'
  'replicamirror'
  'dialplancache'
  'sbclocks'
  'accessgrants'
  'audit'
  'licences'
]
var queueNames = [
  'email-outbox'
  'credential-verify'
  'tasks'
  'replication'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in tableNames: {
    parent: tableService
    name: table
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Each queue and the `<queue>-poison` queue the Functions host moves a message to after five failed deliveries.
resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in concat(queueNames, map(queueNames, q => '${q}-poison')): {
    parent: queueService
    name: queue
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-ai-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource encryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'secrets-encryption-key'
  properties: { value: secretsEncryptionKey }
}

resource storageConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'storage-connection-string'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: '${namePrefix}-email-${suffix}'
  location: 'global'
  properties: { dataLocation: emailDataLocation }
}

resource emailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  properties: { domainManagement: 'AzureManaged', userEngagementTracking: 'Disabled' }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: '${namePrefix}-acs-${suffix}'
  location: 'global'
  properties: {
    dataLocation: emailDataLocation
    linkedDomains: [emailDomain.id]
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var appSettings = {
  AzureWebJobsStorage: '@Microsoft.KeyVault(SecretUri=${storageConnectionSecret.properties.secretUri})'
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  // The host's telemetry as OpenTelemetry too, so that the worker's spans and logs correlate with it.
  AzureFunctionsJobHost__telemetryMode: 'OpenTelemetry'
  API_TENANT_ID: apiTenantId
  API_AUDIENCE: apiAudience
  PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl
  SECRETS_ENCRYPTION_KEY: '@Microsoft.KeyVault(SecretUri=${encryptionKeySecret.properties.secretUri})'
  LICENSE_TENANT_COUNT: string(licenseTenantCount)
  LICENSE_USER_COUNT: string(licenseUserCount)
  LICENSE_EXPIRES: licenseExpires
  LOG_LEVEL: logLevel
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
  }
  dependsOn: [packageContainer]
}

// Built-in role definition ids.
var roles = {
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource vaultAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, functionApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]: {
    scope: storage
    name: guid(storage.id, functionApp.id, role)
    properties: {
      principalId: functionApp.identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

module dnsAccess 'modules/dns-zone-contributor.bicep' = if (!empty(dnsZoneName)) {
  name: 'dns-zone-contributor'
  scope: resourceGroup(empty(dnsZoneResourceGroup) ? resourceGroup().name : dnsZoneResourceGroup)
  params: {
    dnsZoneName: dnsZoneName
    principalId: functionApp.identity.principalId
  }
}

output functionAppName string = functionApp.name
output publicBaseUrl string = appSettings.PUBLIC_BASE_URL
output redirectUri string = '${appSettings.PUBLIC_BASE_URL}/authenticate/OAuth2Callback'
output functionAppPrincipalId string = functionApp.identity.principalId
output emailSenderDomain string = emailDomain.properties.mailFromSenderDomain
output communicationEndpoint string = 'https://${communication.properties.hostName}'
output keyVaultName string = vault.name
