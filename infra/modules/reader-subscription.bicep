// Reader on one subscription for the scanner's identity: what Resource Graph and the Compute
// resource SKUs list need. Read-only; nothing broader.
targetScope = 'subscription'

@description('Object id of the scanner\'s user-assigned managed identity.')
param principalId string

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aks-retirement-scanner: read inventory (Resource Graph) and resource SKUs'
  }
}
