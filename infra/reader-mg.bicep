// Reader for the scanner on management groups (SCAN_SCOPE=mg:A,B). Deployed at management-group
// scope, because a subscription deployment (main.bicep) cannot reach management groups:
//   az deployment mg create --management-group-id A --location <region> \
//     --template-file infra/reader-mg.bicep \
//     --parameters principalId=<SCANNER_PRINCIPAL_ID> managementGroupIds='["A","B"]'
// The azd postprovision hook (infra/hooks/grant-reader-mg.sh) runs exactly this.
targetScope = 'managementGroup'

@description('Object id of the scanner\'s user-assigned managed identity (output SCANNER_PRINCIPAL_ID).')
param principalId string

@minLength(1)
@description('Management group ids (names, not display names) to grant Reader on.')
param managementGroupIds array

module readerOnManagementGroup 'modules/reader-management-group.bicep' = [for mg in managementGroupIds: {
  name: 'scanner-reader-${uniqueString(mg, principalId)}'
  scope: managementGroup(mg)
  params: {
    principalId: principalId
  }
}]
