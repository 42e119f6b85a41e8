"""The deployment files: every Bicep file parses (pycep-parser) and keeps the security properties
the README promises; app settings match scanner/config.py; host.json, local.settings.example.json,
.funcignore and azure.yaml have the shapes the Functions host and azd expect.

(checkov's own Bicep scan runs in `make checkov`, in its own venv; this file checks what checkov
does not know about: our identity model, role choices and setting names.)
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest
from pycep import BicepParser

from scanner.config import Settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

ROLE = {
    "reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "blob_owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "queue_contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "table_contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "metrics_publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "kv_secrets_user": "4633458b-17de-408a-b874-0445c86b69e6",
}
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
}


def _parse(path: Path) -> dict:
    return BicepParser().parse(file_path=path)


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    return {p.relative_to(INFRA).as_posix(): _parse(p) for p in BICEP_FILES}


def body(resource: dict) -> dict:
    """A resource's or module's own object, unwrapping `if (...)` and `[for ...]` forms."""
    cfg = resource["config"]
    while isinstance(cfg, dict) and "config" in cfg and ("condition" in cfg or "loop_type" in cfg):
        cfg = cfg["config"]
    return cfg


def resources_of(tree: dict, rtype: str) -> dict[str, dict]:
    return {n: r for n, r in (tree.get("resources") or {}).items() if r["type"].lower() == rtype.lower()}


def one(tree: dict, rtype: str) -> dict:
    found = resources_of(tree, rtype)
    assert len(found) == 1, f"expected one {rtype}, found {sorted(found)}"
    return body(next(iter(found.values())))


def resolve(expr, variables: dict):
    """Replace references to variables (bare names and var.key accessors) by their values."""
    if isinstance(expr, str):
        if expr in variables:
            return resolve(variables[expr]["value"], variables)

        def interpolate(m: re.Match) -> str:
            value = resolve(m.group(1), variables) if m.group(1) in variables else None
            return value if isinstance(value, str) else m.group(0)

        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", interpolate, expr)
    if isinstance(expr, dict):
        op = expr.get("operator")
        if isinstance(op, dict) and op.get("type") == "property_accessor":
            base, key = op["operands"]["operand_1"], op["operands"]["operand_2"]
            if isinstance(base, str) and base in variables and isinstance(key, str):
                value = resolve(variables[base]["value"], variables)
                if isinstance(value, dict) and key in value:
                    return resolve(value[key], variables)
        return {k: resolve(v, variables) for k, v in expr.items()}
    if isinstance(expr, list):
        return [resolve(v, variables) for v in expr]
    return expr


def role_ids(tree: dict) -> list[tuple[str, str, dict]]:
    """(resource name, role GUID or 'custom', body) for every role assignment in a file."""
    out = []
    for name, res in resources_of(tree, "Microsoft.Authorization/roleAssignments").items():
        b = body(res)
        rd = json.dumps(resolve(b["properties"]["roleDefinitionId"], tree.get("variables") or {}))
        guids = GUID.findall(rd)
        out.append((name, guids[0] if guids else "custom", b))
    return out


def settings_objects(expr, tree: dict) -> list[dict]:
    """Every literal object that can end up in the app settings (both branches of conditionals)."""
    variables = tree["variables"]
    if isinstance(expr, str) and expr in variables:
        return settings_objects(variables[expr]["value"], tree)
    if isinstance(expr, dict):
        if "function" in expr and expr["function"]["type"] == "union":
            return [o for arg in expr["function"]["parameters"].values() for o in settings_objects(arg, tree)]
        op = expr.get("operator")
        if isinstance(op, dict) and op.get("type") == "conditional":
            ops = op["operands"]
            return settings_objects(ops["true_value"], tree) + settings_objects(ops["false_value"], tree)
        if isinstance(op, dict):
            return []  # module output etc.: checked separately
        return [expr]
    return []


@pytest.fixture(scope="module")
def res(parsed) -> dict:
    return parsed["resources.bicep"]


@pytest.fixture(scope="module")
def app_settings(res) -> dict:
    cfg = one(res, "Microsoft.Web/sites/config")
    assert cfg["name"] == "appsettings"
    merged: dict = {}
    for obj in settings_objects(cfg["properties"], res):
        merged.update(obj)
    return merged


# --------------------------------------------------------------------------- every file


def test_infra_has_the_expected_files():
    names = {p.relative_to(INFRA).as_posix() for p in BICEP_FILES}
    assert {"main.bicep", "resources.bicep", "reader-mg.bicep", "modules/reader-subscription.bicep",
            "modules/reader-management-group.bicep", "modules/email.bicep"} <= names


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_file_parses_and_its_modules_exist(path):
    tree = _parse(path)
    for name, mod in (tree.get("modules") or {}).items():
        target = path.parent / mod["detail"]["path"]
        assert target.is_file(), f"{path.name}: module {name} points at missing {target}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_checkov_skip_says_why(path):
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if "checkov:skip" in line:
            m = re.search(r"checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)$", line)
            assert m, f"{path.name}:{lineno}: malformed skip: {line.strip()}"
            assert len(m.group(2).strip()) >= 25, f"{path.name}:{lineno}: {m.group(1)} skipped without a reason"


# --------------------------------------------------------------------------- storage


def test_storage_has_no_shared_keys_and_no_public_blobs(res):
    props = one(res, "Microsoft.Storage/storageAccounts")["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True


def test_storage_has_deployment_container_queue_and_table_service(res):
    container = one(res, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["properties"]["publicAccess"] == "None"
    queues = resources_of(res, "Microsoft.Storage/storageAccounts/queueServices/queues")
    names = {resolve(body(q)["name"], res["variables"]) for q in queues.values()}
    assert names == {Settings().notify_queue, Settings().scan_queue}  # both triggers' queues exist
    one(res, "Microsoft.Storage/storageAccounts/tableServices")


def test_storage_roles_are_data_roles_on_the_account_only(res):
    on_storage = {rid for _, rid, b in role_ids(res) if b.get("scope") == "storage"}
    assert on_storage == {ROLE["blob_owner"], ROLE["queue_contributor"], ROLE["table_contributor"]}


# --------------------------------------------------------------------------- monitoring, key vault


def test_app_insights_is_entra_only_and_identity_can_publish(res):
    ai = one(res, "Microsoft.Insights/components")
    assert ai["properties"]["DisableLocalAuth"] is True
    assert any(rid == ROLE["metrics_publisher"] and b.get("scope") == "appInsights" for _, rid, b in role_ids(res))


def test_key_vault_uses_rbac_and_cannot_be_purged(res):
    kv = one(res, "Microsoft.KeyVault/vaults")["properties"]
    assert kv["enableRbacAuthorization"] is True
    assert kv["enablePurgeProtection"] is True
    assert kv["enableSoftDelete"] is True
    assert any(rid == ROLE["kv_secrets_user"] and b.get("scope") == "keyVault" for _, rid, b in role_ids(res))


def test_secrets_come_from_secure_parameters_and_have_a_content_type(res):
    secrets = resources_of(res, "Microsoft.KeyVault/vaults/secrets")
    assert len(secrets) >= 3
    secure = {n for n, p in res["parameters"].items() if {"type": "secure"} in p["decorators"]}
    for name, secret in secrets.items():
        props = body(secret)["properties"]
        assert props.get("contentType"), f"secret {name} has no contentType"
        value = json.dumps(props["value"])
        loop = secret["config"].get("loop_type")
        item_value = {"operator": {"type": "property_accessor",
                                   "operands": {"operand_1": loop and loop["detail"]["item_name"], "operand_2": "value"}}}
        if loop and props["value"] == item_value:
            value = json.dumps(loop["detail"]["array_name"])  # [for x in items(secureObject)]
        assert any(s in value for s in secure), f"secret {name} value does not come from a @secure() param"


# --------------------------------------------------------------------------- function app


def test_plan_is_flex_consumption_fc1(res):
    plan = one(res, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True


def test_function_app_runs_python_311_as_user_assigned_identity(res):
    app = one(res, "Microsoft.Web/sites")
    assert app["kind"] == "functionapp,linux"
    assert app["identity"]["type"] == "UserAssigned"
    props = app["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    # Key Vault references must resolve with the user-assigned identity, not a system one.
    identity_id = {"operator": {"type": "property_accessor", "operands": {"operand_1": "identity", "operand_2": "id"}}}
    assert props["keyVaultReferenceIdentity"] == identity_id
    fac = props["functionAppConfig"]
    assert fac["runtime"] == {"name": "python", "version": "3.11"}
    storage = fac["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    assert storage["authentication"]["userAssignedIdentityResourceId"] == identity_id
    assert set(fac["scaleAndConcurrency"]) == {"maximumInstanceCount", "instanceMemoryMB"}
    assert app["tags"] and "azd-service-name" in json.dumps(resolve(app["tags"], res["variables"]))


def test_basic_auth_publishing_is_off(res):
    policies = resources_of(res, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {body(p)["name"] for p in policies.values()} == {"ftp", "scm"}
    assert all(body(p)["properties"]["allow"] is False for p in policies.values())


def test_host_storage_uses_the_managed_identity(app_settings):
    assert app_settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage__accountName" in app_settings
    assert "identity" in json.dumps(app_settings["AzureWebJobsStorage__clientId"])
    assert "identity" in json.dumps(app_settings["AZURE_CLIENT_ID"])
    assert "AzureWebJobsStorage" not in app_settings  # no connection string
    assert "Authorization=AAD" in app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


@pytest.mark.parametrize("name", ["TEAMS_WEBHOOK_URL", "SMTP_PASSWORD"])
def test_secret_settings_are_key_vault_references(app_settings, res, name):
    value = json.dumps(resolve(app_settings[name], res["variables"]))
    assert "@Microsoft.KeyVault(" in value, f"{name} must be a Key Vault reference, got {value}"


def test_named_webhook_settings_are_key_vault_references(parsed):
    tree = parsed["modules/webhook-settings.bicep"]
    assert not tree.get("resources"), "the settings module must not create resources"
    assert not any({"type": "secure"} in p["decorators"] for p in tree["parameters"].values()), "names only, no URLs"
    assert "@Microsoft.KeyVault(" in json.dumps(tree["outputs"]["settings"])


def test_no_secure_parameter_flows_into_an_app_setting_directly(app_settings, res):
    secure = {n for n, p in res["parameters"].items() if {"type": "secure"} in p["decorators"]}
    for name, value in app_settings.items():
        text = json.dumps(value)
        leaked = [s for s in secure if re.search(rf"(^\"|\$\{{){s}(\"$|\}})", text) and "KeyVault" not in text]
        assert not leaked, f"app setting {name} carries secure param {leaked} in clear"


def _config_setting_names() -> set[str]:
    src = (ROOT / "scanner" / "config.py").read_text()
    names = set(re.findall(r"(?:get|_int|_bool|_ncrontab)\((?:env, )?\"([A-Za-z_][A-Za-z0-9_]*)\"", src))
    return {n for n in names if not n.islower()}


HOST_SETTINGS = {"APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
                 "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId"}


def test_app_setting_names_are_read_by_scanner_config(app_settings):
    known = _config_setting_names() | HOST_SETTINGS
    unknown = sorted(set(app_settings) - known)
    assert not unknown, f"app settings scanner/config.py does not read: {unknown}"
    assert {"SCAN_SCOPE", "SCAN_SCHEDULE", "FEED_SCHEDULE", "TEAMS_WEBHOOK_URL", "AZURE_CLIENT_ID"} <= set(app_settings)


# --------------------------------------------------------------------------- reader grants


def test_roles_are_never_broader_than_needed(parsed):
    allowed = set(ROLE.values()) | {"custom"}
    for file, tree in parsed.items():
        for name, rid, _ in role_ids(tree):
            assert rid not in BROAD_ROLES, f"{file}: {name} grants {BROAD_ROLES[rid]}"
            assert rid in allowed, f"{file}: {name} grants unexpected role {rid}"


@pytest.mark.parametrize(
    ("file", "scope"),
    [("modules/reader-subscription.bicep", "subscription"),
     ("modules/reader-management-group.bicep", "managementGroup")],
    ids=["subscription", "management-group"],
)
def test_reader_modules_grant_only_reader_at_their_scope(parsed, file, scope):
    tree = parsed[file]
    assert tree["globals"]["scope"]["value"] == scope
    grants = role_ids(tree)
    assert [rid for _, rid, _ in grants] == [ROLE["reader"]]
    assert grants[0][2]["properties"]["principalType"] == "ServicePrincipal"


@pytest.mark.parametrize(
    ("file", "module", "scope_function"),
    [("main.bicep", "readerOnSubscription", "subscription"),
     ("reader-mg.bicep", "readerOnManagementGroup", "management_group")],
    ids=["subscriptions-from-main", "management-groups-from-reader-mg"],
)
def test_reader_modules_are_deployed_with_scope(parsed, file, module, scope_function):
    mod = parsed[file]["modules"][module]
    cfg = mod["config"]
    assert "loop_type" in cfg, "one grant per listed scope"
    scope = body(mod)["scope"]
    assert scope["function"]["type"].replace("_", "").lower() == scope_function.replace("_", "").lower()


def test_main_is_subscription_scoped_and_app_uses_resource_group(parsed):
    assert parsed["main.bicep"]["globals"]["scope"]["value"] == "subscription"
    assert parsed["reader-mg.bicep"]["globals"]["scope"]["value"] == "managementGroup"
    assert parsed["main.bicep"]["modules"]["app"]["detail"]["path"] == "resources.bicep"


def test_email_is_optional_and_keyless(parsed, res):
    assert res["modules"]["email"]["config"]["condition"] == "enableEmail"
    email = parsed["modules/email.bicep"]
    acs = one(email, "Microsoft.Communication/communicationServices")
    assert acs["properties"]["disableLocalAuth"] is True
    role = one(email, "Microsoft.Authorization/roleDefinitions")
    actions = role["properties"]["permissions"][0]["actions"]
    assert all(a.startswith("Microsoft.Communication/") for a in actions) and "*" not in json.dumps(actions)


# --------------------------------------------------------------------------- azd, host, local settings


def test_azure_yaml_deploys_api_as_python_function():
    text = (ROOT / "azure.yaml").read_text()
    services = text.split("services:", 1)[1]
    api = re.search(r"\n  api:\n((?:    .*\n)+)", services)
    assert api, "azure.yaml: no service 'api'"
    block = api.group(1)
    assert re.search(r"^    project: \.\s*$", block, re.M)
    assert re.search(r"^    language: python\s*$", block, re.M)
    assert re.search(r"^    host: function\s*$", block, re.M)
    assert re.search(r"^  path: infra\s*$", text, re.M)


def test_azd_parameters_cover_required_main_parameters(parsed):
    params = parsed["main.bicep"]["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(params), f"unknown parameters: {sorted(set(given) - set(params))}"
    required = {n for n, p in params.items() if "default" not in p}
    assert required <= set(given)


def test_host_json_has_bundle_timeout_and_log_levels():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", host["functionTimeout"])
    assert host["logging"]["logLevel"]["default"]


@pytest.fixture(scope="module")
def local_values() -> dict:
    return json.loads((ROOT / "local.settings.example.json").read_text())["Values"]


def test_local_settings_example_lists_every_setting_and_is_valid(local_values):
    missing = sorted(_config_setting_names() - set(local_values))
    assert not missing, f"local.settings.example.json lacks {missing}"
    settings = Settings.from_env(local_values)
    assert settings.scan_schedule == "0 0 2 * * *"
    assert local_values["FUNCTIONS_WORKER_RUNTIME"] == "python"


@pytest.mark.parametrize("name", ["TEAMS_WEBHOOK_URL", "TEAMS_WEBHOOK_PLATFORM", "SMTP_PASSWORD",
                                  "ACS_CONNECTION_STRING"])
def test_local_settings_example_holds_no_secret(local_values, name):
    assert local_values[name] == ""
    assert local_values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


def _funcignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    for pat in patterns:
        dir_only = pat.endswith("/")
        pat = pat.rstrip("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts) - (1 if dir_only else 0))]
        for i, prefix in enumerate(prefixes):
            if fnmatch.fnmatch(prefix, pat) or fnmatch.fnmatch(parts[i], pat):
                return True
    return False


@pytest.mark.parametrize(
    ("path", "ignored"),
    [("function_app.py", False), ("host.json", False), ("requirements.txt", False),
     ("scanner/core/report.py", False), ("scanner/data/retirements.toml", False), ("notifiers/render.py", False),
     ("tests/unit/test_infra.py", True), (".venv/bin/python", True), (".venv-checkov/bin/checkov", True),
     ("local.settings.json", True), ("node_modules/azurite/package.json", True), ("demo-output/report.html", True),
     ("bench/bench_x.py", True), ("samples/inventory/aks.json", True), ("infra/main.bicep", True),
     ("scanner/__pycache__/x.pyc", True), (".git/config", True),
     # packaging and test artefacts (pip wheel ., the browser test's screenshots) stay out too
     ("dist/aks_retirement_scanner-0.1.0-py3-none-any.whl", True), ("build/lib/scanner/cli/__init__.py", True),
     ("aks_retirement_scanner.egg-info/PKG-INFO", True), ("test-output/report/report-390px.png", True),
     ("pyproject.toml", True)],
)
def test_funcignore(path, ignored):
    patterns = [ln.strip() for ln in (ROOT / ".funcignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    assert _funcignored(path, patterns) is ignored
