// Reader on one management group for the scanner's identity (inherited by every subscription
// below it): what Resource Graph needs to scan the group. Read-only; nothing broader.
targetScope = 'managementGroup'

@description('Object id of the scanner\'s user-assigned managed identity.')
param principalId string

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aks-retirement-scanner: read inventory (Resource Graph) below this management group'
  }
}
