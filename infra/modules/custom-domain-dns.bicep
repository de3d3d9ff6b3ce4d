// The custom domain's records in the provider's DNS zone: the CNAME to the Function App's default host name (Flex
// Consumption maps custom domains with a CNAME only) and the asuid TXT record with the app's domain verification id,
// which App Service checks before it binds the host name.

@description('The existing DNS zone, such as voice.example.com.')
@minLength(1)
param dnsZoneName string

@description('The custom domain relative to the zone, such as hub for hub.voice.example.com.')
@minLength(1)
param recordName string

@description('The Function App\'s default host name.')
@minLength(1)
param target string

@description('The Function App\'s customDomainVerificationId.')
@minLength(1)
param verificationId string

resource zone 'Microsoft.Network/dnsZones@2018-05-01' existing = {
  name: dnsZoneName
}

resource cname 'Microsoft.Network/dnsZones/CNAME@2018-05-01' = {
  parent: zone
  name: recordName
  properties: {
    TTL: 3600
    CNAMERecord: { cname: target }
  }
}

resource verification 'Microsoft.Network/dnsZones/TXT@2018-05-01' = {
  parent: zone
  name: 'asuid.${recordName}'
  properties: {
    TTL: 3600
    TXTRecords: [{ value: [verificationId] }]
  }
}
