// "DNS Zone Contributor" on the provider's existing zone, so that the app's managed identity writes the TXT and A
// records of fully automatic DNS provisioning.
param dnsZoneName string
param principalId string

var dnsZoneContributor = 'befefa01-2a29-4197-83a8-272ff33ce314'

resource zone 'Microsoft.Network/dnsZones@2018-05-01' existing = {
  name: dnsZoneName
}

resource access 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: zone
  name: guid(zone.id, principalId, dnsZoneContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dnsZoneContributor)
  }
}
