// Switches an existing host name binding to SNI TLS with a certificate. A module of its own because the binding is
// first created without a certificate (the managed certificate needs the binding) and one template cannot declare
// the same resource twice.

@description('The Function App.')
@minLength(1)
param siteName string

@description('The bound custom host name.')
@minLength(1)
param hostName string

@description('Thumbprint of the certificate for that host name.')
@minLength(1)
param thumbprint string

resource site 'Microsoft.Web/sites@2024-11-01' existing = {
  name: siteName
}

resource binding 'Microsoft.Web/sites/hostNameBindings@2024-11-01' = {
  parent: site
  name: hostName
  properties: {
    siteName: siteName
    hostNameType: 'Verified'
    customHostNameDnsRecordType: 'CName'
    sslState: 'SniEnabled'
    thumbprint: thumbprint
  }
}
