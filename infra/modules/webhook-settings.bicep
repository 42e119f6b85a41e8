// App settings for named Teams webhooks: {"TEAMS_WEBHOOK_X": "@Microsoft.KeyVault(...teams-webhook-x)"}.
// No resources; only the setting and secret names pass through (never a URL).
// Kept apart because checkov's bundled Bicep parser cannot read lambdas (see Makefile: checkov).
targetScope = 'resourceGroup'

@description('Setting names, each TEAMS_WEBHOOK_<NAME>.')
param names array
param keyVaultName string

output settings object = toObject(names, name => name, name => '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${toLower(replace(name, '_', '-'))})')
