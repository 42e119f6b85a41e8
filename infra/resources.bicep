// The scanner's resources, in one resource group: a Flex Consumption (FC1) Python 3.11 function
// app running as a user-assigned managed identity, its storage (no shared keys), Application
// Insights (Entra auth only), a Key Vault (RBAC) holding every secret the app reads, and, when
// asked for, Azure Communication Services Email. Every role below is the narrowest that works,
// granted on the one resource that needs it.
targetScope = 'resourceGroup'

param environmentName string
param location string = resourceGroup().location
param tags object = {}
param scanScope string
param scanSchedule string = '0 0 2 * * *'
param feedSchedule string = '0 0 * * * *'
@secure()
param teamsWebhookUrl string = ''
@secure()
param namedTeamsWebhooks object = {}
param emailTo string = ''
param enableEmail bool = false
param smtpHost string = ''
param smtpPort int = 587
param smtpUsername string = ''
@secure()
param smtpPassword string = ''
param smtpFrom string = ''
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var functionAppName = 'func-${environmentName}-${token}'
var storageName = take('st${replace(toLower(environmentName), '-', '')}${token}', 24)
var keyVaultName = take('kv-${take(environmentName, 10)}-${token}', 24)
var deploymentContainerName = 'app-package-${take(toLower(environmentName), 20)}-${take(token, 7)}'
var notifyQueueName = 'retirement-notifications'
var scanQueueName = 'retirement-scan-requests'
var serviceTags = union(tags, { 'azd-service-name': 'api' })

// Built-in role definition ids (stable across clouds).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

// ----------------------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}-${token}'
  location: location
  tags: tags
}

// ----------------------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName // 3-24 lower-case letters and digits, built above
  //checkov:skip=CKV_AZURE_43:The name is an expression (take/replace/toLower of the env name and a hash): always 3-24 lower-case letters and digits.
  location: location
  tags: tags
  kind: 'StorageV2'
  //checkov:skip=CKV_AZURE_206:Findings are rebuilt by the next nightly scan; zone or geo replication is not worth its cost.
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Flex Consumption without VNet integration reaches storage over its public endpoint; every
    // request still needs an Entra ID token (shared keys and SAS are off above).
    //checkov:skip=CKV_AZURE_59:Public endpoint needed by a plan without a VNet; access is Entra ID only.
    publicNetworkAccess: 'Enabled'
    //checkov:skip=CKV_AZURE_35:Same reason: default action Allow because the app has no fixed outbound addresses or VNet.
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: { enabled: true, keyType: 'Account' }
        file: { enabled: true, keyType: 'Account' }
        queue: { enabled: true, keyType: 'Account' }
        table: { enabled: true, keyType: 'Account' }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

// Flex Consumption deploys the app package into this container.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource notifyQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: notifyQueueName
}

// POST /api/scan puts ad-hoc scan requests here; the run_scan_request trigger runs them.
resource scanQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: scanQueueName
}

// Tables (findings, runs, history, notifications) are created by the app on first use.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ----------------------------------------------------------------------------- monitoring

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${environmentName}-${token}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${environmentName}-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true // Entra ID only: the instrumentation key alone cannot send telemetry
  }
}

resource appInsightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ----------------------------------------------------------------------------- key vault

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    // The app has no VNet, so the vault keeps a public endpoint; reads need Entra ID + Key Vault Secrets User.
    //checkov:skip=CKV_AZURE_189:Public network access is needed by a function app without VNet integration.
    publicNetworkAccess: 'Enabled'
    //checkov:skip=CKV_AZURE_109:Same reason: no firewall default-deny without a VNet or fixed outbound addresses.
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource teamsWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: keyVault
  name: 'teams-webhook-url'
  //checkov:skip=CKV_AZURE_114:contentType IS set below; checkov 3.3 does not read the body of a conditional (if) resource (tests/unit/test_infra.py checks it).
  //checkov:skip=CKV_AZURE_41:A webhook URL has no natural expiry; an expiry date would silently stop alerts. Rotate with a new version.
  properties: {
    value: teamsWebhookUrl
    contentType: 'text/uri-list'
    attributes: { enabled: true }
  }
}

// One secret per named webhook: app setting TEAMS_WEBHOOK_X <- secret teams-webhook-x.
resource namedWebhookSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for hook in items(namedTeamsWebhooks): {
  parent: keyVault
  name: toLower(replace(hook.key, '_', '-'))
  //checkov:skip=CKV_AZURE_41:A webhook URL has no natural expiry; an expiry date would silently stop alerts. Rotate with a new version.
  properties: {
    value: hook.value
    contentType: 'text/uri-list'
    attributes: { enabled: true }
  }
}]

resource smtpPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(smtpPassword)) {
  parent: keyVault
  name: 'smtp-password'
  //checkov:skip=CKV_AZURE_114:contentType IS set below; checkov 3.3 does not read the body of a conditional (if) resource (tests/unit/test_infra.py checks it).
  //checkov:skip=CKV_AZURE_41:The relay password's lifetime is set by the relay; rotate by setting a new version.
  properties: {
    value: smtpPassword
    contentType: 'text/plain'
    attributes: { enabled: true }
  }
}

// ----------------------------------------------------------------------------- email (optional)

module email 'modules/email.bicep' = if (enableEmail) {
  name: 'scanner-email'
  params: {
    environmentName: environmentName
    token: token
    tags: tags
    principalId: identity.properties.principalId
  }
}

// ----------------------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${environmentName}-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  //checkov:skip=CKV_AZURE_225:Zone redundancy on FC1 is offered in a few regions only and would fail elsewhere; a nightly batch job can wait for a retry.
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

var kvRef = '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName='

var baseSettings = {
  // Host storage through the identity: no connection string exists anywhere.
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  AZURE_CLIENT_ID: identity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  AZURE_CLOUD: environment().name
  SCAN_SCOPE: scanScope
  SCAN_SCHEDULE: scanSchedule
  FEED_SCHEDULE: feedSchedule
  STORAGE_TABLE_ENDPOINT: 'https://${storage.name}.table.${environment().suffixes.storage}'
  STORAGE_QUEUE_ENDPOINT: 'https://${storage.name}.queue.${environment().suffixes.storage}'
  NOTIFY_QUEUE: notifyQueueName
  SCAN_QUEUE: scanQueueName
  EMAIL_TO: emailTo
}

var teamsSettings = empty(teamsWebhookUrl) ? {} : {
  TEAMS_WEBHOOK_URL: '${kvRef}teams-webhook-url)'
}

module namedWebhookSettings 'modules/webhook-settings.bicep' = {
  name: 'scanner-webhook-settings'
  params: {
    names: [for hook in items(namedTeamsWebhooks): hook.key]
    keyVaultName: keyVault.name
  }
}

var smtpSettings = empty(smtpHost) ? {} : {
  SMTP_HOST: smtpHost
  SMTP_PORT: string(smtpPort)
  SMTP_USERNAME: smtpUsername
  SMTP_PASSWORD: empty(smtpPassword) ? '' : '${kvRef}smtp-password)'
  SMTP_STARTTLS: 'true'
  EMAIL_FROM: smtpFrom
}

var emailSettings = enableEmail ? {
  ACS_ENDPOINT: email.outputs.endpoint
  EMAIL_FROM: email.outputs.senderAddress
} : {}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: serviceTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales with functionAppConfig.scaleAndConcurrency, not minimum instance counts.
  //checkov:skip=CKV_AZURE_213:No health-check path: the work runs on timers and a queue, and Flex Consumption scales to zero.
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    //checkov:skip=CKV_AZURE_222:Without VNet integration the HTTP API is public; every route needs a function key (auth level FUNCTION).
    publicNetworkAccess: 'Enabled'
    //checkov:skip=CKV_AZURE_17:Client certificates would block Teams report links; the API takes function keys over HTTPS only.
    clientCertEnabled: false
    keyVaultReferenceIdentity: identity.id // Key Vault references resolve with the user-assigned identity
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: { allowedOrigins: [] }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  dependsOn: [
    storageBlobOwner
    storageQueueContributor
    storageTableContributor
    keyVaultSecretsUser
    appInsightsPublisher
    deploymentContainer
  ]
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads every sites/config as the web config; this one holds only app settings, so
  // the web-config checks skipped here do not apply (TLS, FTP, HTTP/2 are in siteConfig above).
  //checkov:skip=CKV_AZURE_13:Web-config check (App Service Authentication); the API uses function keys.
  //checkov:skip=CKV_AZURE_63:Web-config check (HTTP logging); logs go to Application Insights.
  parent: functionApp
  //checkov:skip=CKV_AZURE_65:Web-config check (detailed error pages); not a web site.
  //checkov:skip=CKV_AZURE_66:Web-config check (failed request tracing); traces go to Application Insights.
  //checkov:skip=CKV_AZURE_80:Web-config check (.NET version); this is a Python app.
  //checkov:skip=CKV_AZURE_88:Web-config check (Azure Files); Flex Consumption has no content share.
  name: 'appsettings'
  //checkov:skip=CKV_AZURE_222:Web-config check (public network access); see the function app above.
  properties: union(baseSettings, teamsSettings, namedWebhookSettings.outputs.settings, smtpSettings, emailSettings, {
    REPORT_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
  })
  dependsOn: [
    teamsWebhookSecret
    namedWebhookSecrets
    smtpPasswordSecret
  ]
}

// No FTP or SCM basic-auth publishing: deployments go through Entra ID (azd, zip deploy).
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output keyVaultName string = keyVault.name
output storageAccountName string = storage.name
