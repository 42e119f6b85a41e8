#!/bin/sh
# azd postprovision hook: grant the scanner's identity Reader on the management groups it scans.
# main.bicep is a subscription deployment and cannot reach management groups, so this runs
# infra/reader-mg.bicep at management-group scope. Needs the Azure CLI signed in as someone who
# may assign roles on those groups (Owner or User Access Administrator there).
set -eu
ids="${READER_MANAGEMENT_GROUP_IDS:-}"
if [ -z "$ids" ]; then
  echo "grant-reader-mg: READER_MANAGEMENT_GROUP_IDS is empty; nothing to grant (subscription Reader came from main.bicep)."
  exit 0
fi
: "${SCANNER_PRINCIPAL_ID:?grant-reader-mg: SCANNER_PRINCIPAL_ID is not set (run azd provision first)}"
: "${AZURE_LOCATION:?grant-reader-mg: AZURE_LOCATION is not set}"
first=$(printf '%s' "$ids" | cut -d, -f1)
json=$(printf '%s' "$ids" | awk -F, '{for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : "["), $i; print "]"}')
echo "grant-reader-mg: Reader for $SCANNER_PRINCIPAL_ID on management groups: $ids"
az deployment mg create \
  --name "retirement-scanner-reader" \
  --management-group-id "$first" \
  --location "$AZURE_LOCATION" \
  --template-file "$(dirname "$0")/../reader-mg.bicep" \
  --parameters principalId="$SCANNER_PRINCIPAL_ID" managementGroupIds="$json" \
  --only-show-errors --output none
