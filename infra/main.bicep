// Entry point for `azd up` (and `az deployment sub create`): a resource group with the scanner in
// it, plus Reader for its identity on the subscriptions it scans. Reader on management groups
// cannot be granted from a subscription-scope deployment; `reader-mg.bicep` does that (the azd
// postprovision hook runs it when READER_MANAGEMENT_GROUP_IDS is set).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name: names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region for every resource (Flex Consumption must be offered there).')
param location string

@description('Resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

// Lists are comma-separated strings so that azd environment values map onto them directly.
@description('Subscription ids to grant Reader on (Resource Graph), comma-separated. Empty, with no management groups either: the subscription deployed to.')
param readerSubscriptionIds string = ''

@description('Management group ids the scanner scans, comma-separated. Reader there is granted by reader-mg.bicep (postprovision hook), not here.')
param readerManagementGroupIds string = ''

@description('SCAN_SCOPE override (tenant | mg:A,B | sub:ID,ID). Default: derived from the Reader grants above.')
param scanScope string = ''

@description('NCRONTAB, six fields, UTC.')
param scanSchedule string = '0 0 2 * * *'

@description('NCRONTAB, six fields, UTC.')
param feedSchedule string = '0 0 * * * *'

@secure()
@description('Default Teams Workflows webhook URL (kept in Key Vault; empty: no Teams).')
param teamsWebhookUrl string = ''

@secure()
@description('Named webhooks: {"TEAMS_WEBHOOK_PLATFORM": "https://..."}; each is kept in Key Vault and referenced by an app setting of that name.')
param namedTeamsWebhooks object = {}

@description('Recipients of the digest, comma-separated.')
param emailTo string = ''

@description('acs: create Azure Communication Services Email (Azure-managed sender domain) and send through it.')
@allowed(['none', 'acs'])
param emailService string = 'none'

@description('SMTP relay instead of (or besides) Communication Services; empty: none.')
param smtpHost string = ''
param smtpPort int = 587
param smtpUsername string = ''
@secure()
param smtpPassword string = ''
@description('Sender address when SMTP is used.')
param smtpFrom string = ''

@description('Flex Consumption scale-out limit (instances).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var tags = { 'azd-env-name': environmentName, app: 'aks-retirement-scanner' }
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var subIds = empty(trim(readerSubscriptionIds)) ? [] : split(replace(readerSubscriptionIds, ' ', ''), ',')
var mgIds = empty(trim(readerManagementGroupIds)) ? [] : split(replace(readerManagementGroupIds, ' ', ''), ',')
var readerSubs = empty(subIds) && empty(mgIds) ? [subscription().subscriptionId] : subIds
var derivedScope = !empty(mgIds) ? 'mg:${join(mgIds, ',')}' : 'sub:${join(readerSubs, ',')}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module app 'resources.bicep' = {
  name: 'scanner-resources'
  scope: rg
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    scanScope: empty(scanScope) ? derivedScope : scanScope
    scanSchedule: scanSchedule
    feedSchedule: feedSchedule
    teamsWebhookUrl: teamsWebhookUrl
    namedTeamsWebhooks: namedTeamsWebhooks
    emailTo: emailTo
    enableEmail: emailService == 'acs'
    smtpHost: smtpHost
    smtpPort: smtpPort
    smtpUsername: smtpUsername
    smtpPassword: smtpPassword
    smtpFrom: smtpFrom
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// Reader (and nothing broader) on each listed subscription, for Resource Graph and resource SKUs.
module readerOnSubscription 'modules/reader-subscription.bicep' = [for sub in readerSubs: {
  name: 'scanner-reader-${uniqueString(sub, environmentName)}'
  scope: subscription(sub)
  params: {
    principalId: app.outputs.identityPrincipalId
  }
}]

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output AZURE_KEY_VAULT_NAME string = app.outputs.keyVaultName
output SCANNER_PRINCIPAL_ID string = app.outputs.identityPrincipalId
output SCANNER_CLIENT_ID string = app.outputs.identityClientId
output SCAN_SCOPE string = empty(scanScope) ? derivedScope : scanScope
output READER_MANAGEMENT_GROUP_IDS string = join(mgIds, ',')
output REPORT_URL string = '${app.outputs.functionAppUrl}/api/report'
