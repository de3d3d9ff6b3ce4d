// Direct Routing Hub on Azure: the Function App (Flex Consumption, Node 22, system-assigned managed identity), its
// storage with every table and queue the code uses (reached with the identity, no account key), Key Vault,
// Application Insights, the email service, DNS Zone Contributor on the provider's existing DNS zone and an optional
// custom domain. `azd up` deploys it (azure.yaml); docs/deploy.md walks through the parameters.
// `npm run infra:check` builds and lints it; test/infra/compiled/main.json is the compiled template the tests read.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------------

@description('The azd environment name (AZURE_ENV_NAME), such as drh-prod. It only seeds resource names: each name is derived from it to fit its resource\'s rules (the storage account keeps its letters and digits), plus a hash of the subscription, resource group and this name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of the resources: one offering Flex Consumption (az functionapp list-flexconsumption-locations).')
@minLength(1)
@metadata({ azd: { type: 'location' } })
param location string = resourceGroup().location

@description('Entra tenant that issues the provider portal\'s and operators\' access tokens (API_TENANT_ID): a tenant id (GUID).')
@minLength(36)
@maxLength(36)
param apiTenantId string

@description('Audience of those tokens: the API app registration\'s Application ID URI, such as api://direct-routing-hub (API_AUDIENCE).')
@minLength(1)
param apiAudience string

@description('MultiTenant Tenant License Count (LICENSE_TENANT_COUNT).')
@minValue(0)
param licenseTenantCount int

@description('MultiTenant User License Count (LICENSE_USER_COUNT).')
@minValue(0)
param licenseUserCount int

@description('Expiration Date of the licence, YYYY-MM-DD (LICENSE_EXPIRES); empty for none.')
@maxLength(10)
param licenseExpires string = ''

@secure()
@description('Exactly 32 random bytes, base64-encoded: 44 characters ending in one "=" (openssl rand -base64 32). Seals secrets at rest; kept in Key Vault as secrets-encryption-key. Losing it makes the sealed secrets unreadable.')
@minLength(44)
@maxLength(44)
param secretsEncryptionKey string

@secure()
@description('Only during a key rotation: the former secretsEncryptionKey (several comma-separated), each 32 bytes base64-encoded. Values they sealed still open and are re-sealed with secretsEncryptionKey when read; nothing is sealed with them. Kept in Key Vault as secrets-encryption-keys-retired. Empty (the default) outside a rotation.')
param retiredSecretsEncryptionKeys string = ''

@description('Optional custom host name of the product, such as hub.voice.example.com (a subdomain: Flex Consumption maps custom domains with a CNAME only). Binds it to the Function App with a managed certificate and makes PUBLIC_BASE_URL https://<customDomainName>. Its CNAME (to the app\'s default host name) and asuid TXT record (AZURE_CUSTOM_DOMAIN_VERIFICATION_ID) must resolve first: they are created here when it lies in dnsZoneName and createCustomDomainDnsRecords is true.')
@maxLength(253)
param customDomainName string = ''

@description('With a customDomainName inside dnsZoneName: create its CNAME and asuid TXT records in that zone.')
param createCustomDomainDnsRecords bool = true

@description('Optional public base URL when the product is reached through something in front of it (such as Front Door) rather than a custom domain bound here; empty = https://<customDomainName> or the Function App\'s default host name. Not with customDomainName.')
@maxLength(2048)
param publicBaseUrl string = ''

@description('The provider\'s existing Azure DNS zone for fully automatic DNS (the app\'s identity gets DNS Zone Contributor on it); empty = no role assignment.')
@maxLength(253)
param dnsZoneName string = ''

@description('Resource group of that DNS zone; empty = this resource group.')
@maxLength(90)
param dnsZoneResourceGroup string = ''

@description('Key Vault purge protection. Turn it on in production: the vault (and the encryption key) then survive deletion for 90 days, and the same vault name cannot be used again until then (raise keyVaultGeneration to re-provision after azd down). It cannot be turned off once on.')
param keyVaultPurgeProtection bool = false

@description('Part of the Key Vault name\'s hash: raise it to get a new vault name, e.g. to re-provision after azd down while the old vault is still soft-deleted under purge protection.')
@minValue(1)
@maxValue(999)
param keyVaultGeneration int = 1

@description('Origins allowed to call the API from a browser (the provider portal\'s), comma-separated, each exactly as the browser sends it: https://portal.example.com[:port]; * alone for any. Empty = none. Azure\'s platform CORS answers them (siteConfig.cors); the app checks the list at start-up (API_CORS_ALLOWED_ORIGINS).')
@maxLength(4096)
param corsAllowedOrigins string = ''

@description('LOG_LEVEL of the product.')
@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@description('Where the email service keeps its data (an Azure Communication Services data location such as Europe or United States).')
@minLength(1)
param emailDataLocation string = 'Europe'

// ---------------------------------------------------------------------------------------------------------------
// Names: every one derived from environmentName so that it fits its resource's rules whatever the name holds.
// ---------------------------------------------------------------------------------------------------------------

var lowerEnvironmentName = toLower(environmentName)
var environmentCharacters = map(range(0, length(lowerEnvironmentName)), i => substring(lowerEnvironmentName, i, 1))
var alphanumerics = 'abcdefghijklmnopqrstuvwxyz0123456789'
// Letters and digits only (storage accounts, Key Vault).
var compactName = join(filter(environmentCharacters, c => contains(alphanumerics, c)), '')
// Letters, digits and hyphens (everything else).
var dashedName = join(map(environmentCharacters, c => contains(alphanumerics, c) ? c : '-'), '')
// 13 lowercase letters and digits, stable for this subscription, resource group and environment.
var resourceToken = uniqueString(subscription().id, resourceGroup().id, environmentName)

// 3–24 lowercase letters and digits: 2 + 9 + 13.
var storageName = 'st${take(compactName, 9)}${resourceToken}'
// 3–24 letters, digits and hyphens, starting with a letter, no consecutive hyphens: 2 + 9 + 13, no hyphen at all.
// keyVaultGeneration is in its hash: raising it names a new vault.
var keyVaultToken = uniqueString(subscription().id, resourceGroup().id, environmentName, 'key-vault', string(keyVaultGeneration))
var keyVaultName = 'kv${take(compactName, 9)}${keyVaultToken}'
// Sites allow 60 characters; 5 + 24 + 1 + 13 = 43 also leaves room for the hash a unique default host name
// (<name>-<hash>.<region>.azurewebsites.net) adds within a 63-character DNS label.
var functionAppName = 'func-${take(dashedName, 24)}-${resourceToken}'
// Other names stay under their limits (60 for plans, 63 or more for the rest): at most 5 + 40 + 1 + 13 = 59.
var planName = 'plan-${take(dashedName, 40)}-${resourceToken}'
var logsName = 'log-${take(dashedName, 40)}-${resourceToken}'
var insightsName = 'appi-${take(dashedName, 40)}-${resourceToken}'
var emailServiceName = 'email-${take(dashedName, 40)}-${resourceToken}'
var communicationName = 'acs-${take(dashedName, 40)}-${resourceToken}'
var deploymentContainer = 'app-package'

var tags = { 'azd-env-name': environmentName }

// ---------------------------------------------------------------------------------------------------------------
// Parameter checks that decorators cannot express (fail() stops the deployment before anything changes).
// ---------------------------------------------------------------------------------------------------------------

var customDomainChecked = empty(customDomainName)
  ? ''
  : contains(customDomainName, '/') || contains(customDomainName, ':') || !contains(customDomainName, '.')
      ? fail('customDomainName must be a host name such as hub.voice.example.com, not a URL.')
      : !empty(publicBaseUrl)
          ? fail('Set customDomainName or publicBaseUrl, not both: with a custom domain PUBLIC_BASE_URL is https://<customDomainName>.')
          : toLower(customDomainName)
// The custom domain lies in the provider's DNS zone (a subdomain of it: the apex would need an A record).
var customDomainInZone = !empty(customDomainChecked) && !empty(dnsZoneName) && endsWith(customDomainChecked, '.${toLower(dnsZoneName)}')
var customDomainRecordName = customDomainInZone
  ? take(customDomainChecked, max(0, length(customDomainChecked) - length(dnsZoneName) - 1))
  : ''
var dnsZoneResourceGroupName = empty(dnsZoneResourceGroup) ? resourceGroup().name : dnsZoneResourceGroup

// ---------------------------------------------------------------------------------------------------------------
// Storage: the Functions host's and the product's, reached with the app's identity only.
// ---------------------------------------------------------------------------------------------------------------

// Every table and queue the code uses (test/infra/bicep.test.ts keeps this list and the code in step).
var tableNames = [
  'customers'
  'customerwords'
  'customerfilters'
  'usertemplates'
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
  'siteclaims'
  'removedcustomers'
  'ratelimits'
  'tasks'
  'replication'
  'replicamirror'
  'dialplancache'
  'sbclocks'
  'accessgrants'
  'audit'
  'licences'
  'numberranges'
  'reservednumbers'
  'userchanges'
  'userimports'
  'voicechanges'
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
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    // No account key: the host (AzureWebJobsStorage__*), the product and Flex Consumption's deployment container
    // (functionAppConfig.deployment.storage.authentication SystemAssignedIdentity) all use the managed identity, and
    // Flex Consumption has no Azure Files content share, the one part of Functions that needed a key. Microsoft's
    // Flex Consumption azd quickstarts (functions-quickstart-*-azd) deploy with allowSharedKeyAccess: false too.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
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

// ---------------------------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------------------------

var logsSku = 'PerGB2018'
var logsRetentionDays = 30

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logsName
  location: location
  tags: tags
  properties: {
    sku: { name: logsSku }
    retentionInDays: logsRetentionDays
  }
}

module credentialPathTransforms 'modules/credential-path-transforms.bicep' = {
  name: 'credential-path-transforms-${resourceToken}'
  params: {
    workspaceName: logs.name
    location: location
    tags: tags
    sku: logsSku
    retentionInDays: logsRetentionDays
    ruleName: 'dcr-${take(dashedName, 40)}-${resourceToken}'
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key Vault: the one product secret, read through a Key Vault reference.
// ---------------------------------------------------------------------------------------------------------------

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Key Vault accepts true or nothing: purge protection cannot be set back to false once on.
    enablePurgeProtection: keyVaultPurgeProtection ? true : null
  }
}

resource encryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'secrets-encryption-key'
  properties: {
    // base64 of 32 bytes is 44 characters (the decorators) ending in exactly one '=' padding character.
    value: endsWith(secretsEncryptionKey, '=') && !endsWith(secretsEncryptionKey, '==')
      ? secretsEncryptionKey
      : fail('secretsEncryptionKey must be 32 random bytes, base64-encoded (openssl rand -base64 32).')
    contentType: 'base64, 32 bytes'
  }
}

// The keys of a rotation in progress (docs/deploy.md, "Rotating the encryption key"); none outside one.
var retiredKeys = filter(map(split(retiredSecretsEncryptionKeys, ','), key => trim(key)), key => !empty(key))
var hasRetiredKeys = !empty(retiredKeys)

resource retiredKeysSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (hasRetiredKeys) {
  parent: vault
  name: 'secrets-encryption-keys-retired'
  properties: {
    value: length(filter(retiredKeys, key => length(key) != 44 || !endsWith(key, '=') || endsWith(key, '=='))) == 0
      ? join(retiredKeys, ',')
      : fail('retiredSecretsEncryptionKeys must be comma-separated keys of 32 random bytes, base64-encoded.')
    contentType: 'base64, 32 bytes each, comma-separated'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------------------------

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: { dataLocation: emailDataLocation }
}

resource emailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: { domainManagement: 'AzureManaged', userEngagementTracking: 'Disabled' }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: emailDataLocation
    linkedDomains: [emailDomain.id]
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The Function App
// ---------------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: functionAppName
  location: location
  // azd deploys the `api` service of azure.yaml to the resource carrying this tag.
  tags: { 'azd-env-name': environmentName, 'azd-service-name': 'api' }
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      // Flex Consumption runs the package from this blob container, read with the app's identity
      // (learn.microsoft.com/azure/azure-functions/flex-consumption-how-to, "deployment storage": authentication
      // SystemAssignedIdentity needs Storage Blob Data Contributor or Owner on it, granted below).
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
    // No appSettings here: they are the `appsettings` resource below, applied once the identity may read Key Vault.
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // The host answers preflights before any function runs (docs/decisions.md §29); never with credentials: the
      // portal sends a bearer token, not cookies.
      cors: {
        allowedOrigins: empty(corsAllowedOrigins) ? [] : map(split(corsAllowedOrigins, ','), origin => trim(origin))
        supportCredentials: false
      }
    }
  }
  dependsOn: [packageContainer]
}

// Flex Consumption gives new apps a unique default host name (<name>-<hash>.<region>.azurewebsites.net), so the
// URL comes from the app rather than from its name.
var defaultBaseUrl = 'https://${functionApp.properties.defaultHostName}'
var effectiveBaseUrl = !empty(customDomainChecked)
  ? 'https://${customDomainChecked}'
  : !empty(publicBaseUrl) ? publicBaseUrl : defaultBaseUrl

// ---------------------------------------------------------------------------------------------------------------
// Role assignments: exactly what the code and the Functions host need, each at the narrowest scope.
// ---------------------------------------------------------------------------------------------------------------

// Built-in role definition ids.
var roles = {
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

// On the storage account (the host creates its own containers, so no narrower scope):
// - Storage Blob Data Owner: the Functions host's AzureWebJobsStorage connection with an identity. Microsoft Learn
//   ("Connecting to host storage with an identity", functions-reference#connecting-to-host-storage-with-an-identity)
//   names Storage Blob Data Owner for the host's blob use (its azure-webjobs-hosts container: timer schedule
//   monitors, singleton and listener leases, host keys); it also covers the Flex deployment container above.
// - Storage Queue Data Contributor: the product's queues (triggers and sends) through the host and the SDK.
// - Storage Table Data Contributor: the product's tables (shared/storage), through the SDK.
var storageRoles = ['storageBlobDataOwner', 'storageQueueDataContributor', 'storageTableDataContributor']

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    scope: storage
    name: guid(storage.id, functionApp.id, roles[role])
    properties: {
      principalId: functionApp.identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[role])
    }
  }
]

// Key Vault Secrets User on the one secret, not the vault: with RBAC authorization a role assignment can be scoped
// to an individual secret (learn.microsoft.com/azure/key-vault/general/rbac-guide, "Secret scope role assignment").
resource secretAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: encryptionKeySecret
  name: guid(encryptionKeySecret.id, functionApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// The same, on the retired keys' secret, while a rotation is in progress.
resource retiredKeysAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasRetiredKeys) {
  scope: retiredKeysSecret
  name: guid(vault.id, 'secrets-encryption-keys-retired', functionApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// DNS Zone Contributor on the provider's zone (fully automatic DNS). The deployment name carries the resource token:
// two environments sharing the zone's resource group would otherwise overwrite each other's deployment record.
module dnsAccess 'modules/dns-zone-contributor.bicep' = if (!empty(dnsZoneName)) {
  name: 'dns-zone-contributor-${resourceToken}'
  scope: resourceGroup(dnsZoneResourceGroupName)
  params: {
    dnsZoneName: dnsZoneName
    principalId: functionApp.identity.principalId
    assigneeResourceId: functionApp.id
  }
}

// ---------------------------------------------------------------------------------------------------------------
// App settings: a resource of their own, applied after the role assignments so that the Key Vault reference resolves
// and the host reaches its storage from its first start.
// ---------------------------------------------------------------------------------------------------------------

var appSettings = {
  // The Functions host's storage and the product's, with the app's identity (no connection string): the host
  // needs the blob and queue URIs (timers, leases, queue triggers), the product the table and queue URIs.
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  // An ingestion identifier (instrumentation key and endpoints), not a credential: it grants no read access.
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  // The host's telemetry as OpenTelemetry too, so that the worker's spans and logs correlate with it.
  AzureFunctionsJobHost__telemetryMode: 'OpenTelemetry'
  API_TENANT_ID: apiTenantId
  API_AUDIENCE: apiAudience
  PUBLIC_BASE_URL: effectiveBaseUrl
  // The same list as siteConfig.cors, so that a malformed origin stops the app at start-up with a clear message.
  API_CORS_ALLOWED_ORIGINS: corsAllowedOrigins
  SECRETS_ENCRYPTION_KEY: '@Microsoft.KeyVault(SecretUri=${encryptionKeySecret.properties.secretUri})'
  SECRETS_ENCRYPTION_KEYS_RETIRED: hasRetiredKeys
    ? '@Microsoft.KeyVault(SecretUri=${retiredKeysSecret!.properties.secretUri})'
    : ''
  LICENSE_TENANT_COUNT: string(licenseTenantCount)
  LICENSE_USER_COUNT: string(licenseUserCount)
  LICENSE_EXPIRES: licenseExpires
  LOG_LEVEL: logLevel
  // V8 collects sooner instead of growing its heap 4-fold between collections (docs/decisions.md §81); the heap
  // limit is untouched. The same flags as dev/host/node-arguments.ts, which the bench runs with.
  languageWorkers__node__arguments: '--max-semi-space-size=8 --heap-growing-percent=25'
}

resource functionAppSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
  dependsOn: [storageAccess, secretAccess, retiredKeysAccess]
}

// ---------------------------------------------------------------------------------------------------------------
// Optional custom domain
// ---------------------------------------------------------------------------------------------------------------

// Its CNAME and asuid TXT records, when it lies in the provider's zone.
module customDomainDns 'modules/custom-domain-dns.bicep' = if (customDomainInZone && createCustomDomainDnsRecords) {
  name: 'custom-domain-dns-${resourceToken}'
  scope: resourceGroup(dnsZoneResourceGroupName)
  params: {
    dnsZoneName: dnsZoneName
    recordName: customDomainRecordName
    target: functionApp.properties.defaultHostName
    verificationId: functionApp.properties.customDomainVerificationId
  }
}

resource customDomainBinding 'Microsoft.Web/sites/hostNameBindings@2024-11-01' = if (!empty(customDomainChecked)) {
  parent: functionApp
  name: empty(customDomainChecked) ? 'unused' : customDomainChecked
  properties: {
    siteName: functionApp.name
    hostNameType: 'Verified'
    customHostNameDnsRecordType: 'CName'
    sslState: 'Disabled'
  }
  dependsOn: [customDomainDns]
}

// A free App Service managed certificate. Flex Consumption keeps certificates per app ("site-scoped",
// Microsoft.Web/sites/certificates): the resource-group-scoped Microsoft.Web/certificates of other plans is not
// supported there (learn.microsoft.com/azure/azure-functions/flex-consumption-plan, "Certificates"; site-scoped
// certificates: flex-consumption-how-to, "Configure site-scoped certificates", in preview).
resource customDomainCertificate 'Microsoft.Web/sites/certificates@2024-11-01' = if (!empty(customDomainChecked)) {
  parent: functionApp
  name: empty(customDomainChecked) ? 'unused' : customDomainChecked
  location: location
  tags: tags
  properties: {
    // A managed certificate: App Service issues and renews it for this host name (validated through its CNAME).
    canonicalName: customDomainChecked
    serverFarmId: plan.id
  }
  dependsOn: [customDomainBinding]
}

// The SNI binding updates the host name binding created above, which one template cannot declare twice: a module.
module customDomainSni 'modules/host-name-sni.bicep' = if (!empty(customDomainChecked)) {
  name: 'custom-domain-sni-${resourceToken}'
  params: {
    siteName: functionApp.name
    hostName: customDomainChecked
    thumbprint: customDomainCertificate!.properties.thumbprint
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs: azd stores them in the environment (.azure/<env>/.env).
// ---------------------------------------------------------------------------------------------------------------

@description('Region of the resources.')
output AZURE_LOCATION string = location

@description('Tenant of the subscription (and of the managed identity).')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group of the deployment.')
output AZURE_RESOURCE_GROUP string = resourceGroup().name

@description('Name of the Function App.')
output AZURE_FUNCTION_APP_NAME string = functionApp.name

@description('Name of the Function App that azd deploys the api service to.')
output SERVICE_API_NAME string = functionApp.name

@description('Public base URL of the product (PUBLIC_BASE_URL).')
output SERVICE_API_URI string = effectiveBaseUrl

@description('The Function App\'s default https URL, whatever custom domain is in front of it.')
output AZURE_FUNCTION_APP_DEFAULT_URI string = defaultBaseUrl

@description('Object id of the Function App\'s system-assigned managed identity (for further role assignments).')
output AZURE_FUNCTION_APP_PRINCIPAL_ID string = functionApp.identity.principalId

@description('Value of the asuid.<custom domain> TXT record that proves ownership of a custom domain.')
output AZURE_CUSTOM_DOMAIN_VERIFICATION_ID string = functionApp.properties.customDomainVerificationId

@description('Name of the Key Vault holding secrets-encryption-key.')
output AZURE_KEY_VAULT_NAME string = vault.name

@description('Name of the storage account (tables, queues, the deployment package).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.name

@description('Redirect URI to register on the token app (the first settings\' Redirect Uri).')
output OAUTH_REDIRECT_URI string = '${effectiveBaseUrl}/authenticate/OAuth2Callback'

@description('Azure-managed sender domain of the email service: send from DoNotReply@<this>.')
output EMAIL_SENDER_DOMAIN string = emailDomain.properties.mailFromSenderDomain

@description('Endpoint of the Azure Communication Services resource (the email settings\' endpoint).')
output ACS_ENDPOINT string = 'https://${communication.properties.hostName}'
