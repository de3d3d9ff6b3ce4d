// "DNS Zone Contributor" on the provider's existing zone, so that the app's managed identity writes the TXT and A
// records of fully automatic DNS provisioning. Scoped to the one zone, not its resource group.

@description('The existing DNS zone, such as voice.example.com.')
@minLength(1)
param dnsZoneName string

@description('Object id of the Function App\'s managed identity.')
@minLength(1)
param principalId string

@description('Resource id of the Function App: names the role assignment, known before deployment (what-if).')
@minLength(1)
param assigneeResourceId string

var dnsZoneContributor = 'befefa01-2a29-4197-83a8-272ff33ce314'

resource zone 'Microsoft.Network/dnsZones@2018-05-01' existing = {
  name: dnsZoneName
}

resource access 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: zone
  name: guid(zone.id, assigneeResourceId, dnsZoneContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dnsZoneContributor)
  }
}
