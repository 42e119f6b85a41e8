"""Settings: one frozen value read from the environment (app settings) and validated at start.

`Settings.from_env(os.environ)` raises ConfigError naming the setting and the expected form.
Secrets are wrapped in `Secret`, whose str/repr never show the value: call `.reveal()` at the one
place a value is sent over the wire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from scanner.errors import ConfigError

DEFAULT_FEED_URL = "https://www.microsoft.com/releasecommunications/api/v2/azure"
# Azure Retail Prices API per cloud (no sign-in). Azure operated by 21Vianet has a separate API that
# answers with a CSV download link: no live prices there (reference/prices/notes.md).
DEFAULT_PRICES_URLS = {"public": "https://prices.azure.com/api/retail/prices",
                       "usgov": "https://prices.azure.us/api/retail/prices", "china": ""}
# Currencies the Retail Prices API documents (Dec 2021 doc, reference/prices/notes.md).
PRICE_CURRENCIES = ("USD", "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "INR", "JPY", "KRW", "NOK",
                    "NZD", "RUB", "SEK", "TWD")
DEFAULT_FEED_FALLBACK_URL = "https://www.microsoft.com/releasecommunications/api/v2/azure/rss"

# Tags that may name a webhook setting: only settings with this prefix can be named, so a tag
# can never make the scanner read (and post to) an arbitrary secret.
WEBHOOK_SETTING_PREFIX = "TEAMS_WEBHOOK_"

CLOUDS = {
    # name: (ARM endpoint, token scope, portal)
    "public": ("https://management.azure.com", "https://management.azure.com/.default",
               "https://portal.azure.com"),
    "china": ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default",
              "https://portal.azure.cn"),
    "usgov": ("https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net/.default",
              "https://portal.azure.us"),
}
_CLOUD_ALIASES = {
    "public": "public", "azurecloud": "public", "azurepubliccloud": "public",
    "china": "china", "azurechinacloud": "china",
    "usgov": "usgov", "azureusgovernment": "usgov", "azureusgovernmentcloud": "usgov", "usgovernment": "usgov",
}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MG = re.compile(r"^[A-Za-z0-9_().-]{1,90}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True)
class Scope:
    """What to scan: the whole tenant, management groups, or a list of subscriptions."""

    kind: str = "tenant"  # "tenant" | "mg" | "sub"
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "tenant":
            return "tenant"
        return f"{self.kind}:" + ",".join(self.values)


def parse_scope(text: str, setting: str = "--scope") -> Scope:
    """`tenant`, `mg:NAME[,NAME...]` or `sub:ID[,ID...]`."""
    raw = (text or "").strip()
    if raw == "" or raw.lower() == "tenant":
        return Scope()
    kind, sep, rest = raw.partition(":")
    kind = kind.strip().lower()
    values = tuple(v.strip() for v in rest.split(",") if v.strip()) if sep else ()
    if kind == "sub" and values and all(_GUID.match(v) for v in values):
        return Scope("sub", tuple(v.lower() for v in values))
    if kind == "mg" and values and all(_MG.match(v) for v in values):
        return Scope("mg", values)
    raise ConfigError(
        f"{setting}: {text!r} is not 'tenant', 'mg:NAME[,NAME...]' or 'sub:SUBSCRIPTION_ID[,ID...]'"
    )


def _prices_url(env: Mapping[str, str], cloud: str) -> str:
    """PRICES_URL: absent -> the cloud's API; set to empty -> no live prices; else an http(s) URL."""
    if "PRICES_URL" not in env:
        return DEFAULT_PRICES_URLS.get(cloud, "")
    raw = (env.get("PRICES_URL") or "").strip()
    if raw and not re.match(r"^https?://[^\s/]+(/\S*)?$", raw):
        raise ConfigError(f"PRICES_URL: {raw!r} is not an http(s) URL (or empty to turn live prices off)")
    return raw


def _currency(raw: str) -> str:
    code = raw.strip().upper()
    if code not in PRICE_CURRENCIES:
        raise ConfigError(f"PRICES_CURRENCY: {raw!r} is not one of {', '.join(PRICE_CURRENCIES)}")
    return code


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}: {value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}: {value} must be at most {maximum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: {env.get(name)!r} is not true or false")


def _ncrontab(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if len(raw.split()) != 6:
        raise ConfigError(
            f"{name}: {raw!r} is not a six-field NCRONTAB expression "
            "('{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 0 2 * * *')"
        )
    return raw


def _paths(text: str) -> tuple[str, ...]:
    """Comma-separated file or folder paths (blank items ignored)."""
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def parse_emails(text: str, setting: str) -> tuple[str, ...]:
    out = []
    for part in re.split(r"[,;]", text or ""):
        part = part.strip()
        if not part:
            continue
        if not _EMAIL.match(part):
            raise ConfigError(f"{setting}: {part!r} is not an email address")
        out.append(part)
    return tuple(out)


def parse_days_list(text: str, setting: str) -> tuple[int, ...]:
    try:
        days = sorted({int(p) for p in text.split(",") if p.strip()}, reverse=True)
    except ValueError:
        raise ConfigError(f"{setting}: {text!r} is not a comma-separated list of whole days") from None
    if any(d < 0 for d in days):
        raise ConfigError(f"{setting}: {text!r} has a negative number of days")
    return tuple(days)


@dataclass(frozen=True)
class Route:
    """Recipients for a subscription or resource group (NOTIFY_ROUTES)."""

    teams: tuple[str, ...] = ()  # setting names of webhooks (TEAMS_WEBHOOK_*)
    email: tuple[str, ...] = ()


_QUEUE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def _scan_queue(name: str, notify_queue: str) -> str:
    if not _QUEUE_NAME.match(name):
        raise ConfigError(f"SCAN_QUEUE: {name!r} is not a storage queue name (3-63 lower-case letters, digits "
                          "and single hyphens, starting and ending with a letter or digit)")
    if name == notify_queue:
        raise ConfigError(f"SCAN_QUEUE: {name!r} is also NOTIFY_QUEUE; the two triggers need their own queues")
    return name


def parse_routes(text: str, env: Mapping[str, str], setting: str = "NOTIFY_ROUTES") -> dict[str, Route]:
    """JSON object: key "/subscriptions/<id>" or "/subscriptions/<id>/resourceGroups/<rg>",
    value {"teams": "TEAMS_WEBHOOK_X" | [...], "email": "a@x,b@y" | [...]}. Keys are lower-cased."""
    if not (text or "").strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{setting}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{setting}: expected a JSON object of scope -> recipients")
    routes: dict[str, Route] = {}
    for key, value in data.items():
        k = str(key).strip().lower().rstrip("/")
        if not k.startswith("/subscriptions/"):
            raise ConfigError(f"{setting}: key {key!r} is not '/subscriptions/ID[/resourceGroups/NAME]'")
        if not isinstance(value, dict) or not set(value) <= {"teams", "email"}:
            raise ConfigError(f"{setting}: value for {key!r} must be an object with 'teams' and/or 'email'")
        teams = value.get("teams", [])
        teams = [teams] if isinstance(teams, str) else list(teams)
        for name in teams:
            check_webhook_setting_name(name, env, f"{setting}[{key!r}].teams")
        email = value.get("email", [])
        email = ",".join(email) if isinstance(email, list) else str(email)
        routes[k] = Route(tuple(teams), parse_emails(email, f"{setting}[{key!r}].email"))
    return routes


def check_webhook_setting_name(name: str, env: Mapping[str, str], where: str) -> str:
    if not isinstance(name, str) or not name.startswith(WEBHOOK_SETTING_PREFIX) and name != "TEAMS_WEBHOOK_URL":
        raise ConfigError(
            f"{where}: {name!r} must name a setting that starts with {WEBHOOK_SETTING_PREFIX} "
            "(webhook URLs are secrets: put the URL in that setting, not here)"
        )
    if "://" in name:
        raise ConfigError(f"{where}: holds a URL; name a {WEBHOOK_SETTING_PREFIX}* setting instead")
    if not str(env.get(name, "")).strip():
        # A route to a webhook nobody set would drop those alerts to the defaults without a word.
        raise ConfigError(f"{where}: names {name}, which is not set (set {name} to the Workflows webhook URL, "
                          "or remove it from the route)")
    return name


@dataclass(frozen=True)
class Settings:
    scan_schedule: str = "0 0 2 * * *"
    feed_schedule: str = "0 0 * * * *"
    feed_url: str = DEFAULT_FEED_URL
    feed_fallback_url: str = DEFAULT_FEED_FALLBACK_URL
    catalog_extra_file: str = ""
    scan_scope: Scope = field(default_factory=Scope)
    # "subscription": SKU facts (restrictions) per (subscription, region); "region": each region read
    # once, through one subscription, and its restrictions taken for every subscription there.
    sku_scope: str = "subscription"
    sku_cache_hours: int = 24  # SKU facts kept in the store this long (0: no cache)
    critical_days: int = 30
    high_days: int = 90
    medium_days: int = 365
    reminder_days: tuple[int, ...] = (180, 90, 30, 14, 7, 1)
    # Notifications
    teams_webhook_url: Secret = field(default_factory=lambda: Secret(""), repr=False)
    webhooks: dict[str, Secret] = field(default_factory=dict, repr=False)  # TEAMS_WEBHOOK_* by name
    email_to: tuple[str, ...] = ()
    email_from: str = ""
    acs_endpoint: str = ""
    acs_connection_string: Secret = field(default_factory=lambda: Secret(""), repr=False)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: Secret = field(default_factory=lambda: Secret(""), repr=False)
    smtp_starttls: bool = True
    routes: dict[str, Route] = field(default_factory=dict)
    report_base_url: str = ""
    # Storage: a connection string, or endpoints used with DefaultAzureCredential.
    storage_connection_string: Secret = field(default_factory=lambda: Secret(""), repr=False)
    storage_table_endpoint: str = ""
    storage_queue_endpoint: str = ""
    table_prefix: str = "retirements"
    notify_queue: str = "retirement-notifications"
    scan_queue: str = "retirement-scan-requests"  # POST /api/scan -> run_scan_request
    # Write every notification to this folder (card JSON, .eml) instead of sending it (demo, rehearsals).
    notify_dir: str = ""
    # Identity and cloud
    azure_client_id: str = ""
    cloud: str = "public"
    arm_endpoint: str = CLOUDS["public"][0]
    arm_scope: str = CLOUDS["public"][1]
    portal_url: str = CLOUDS["public"][2]
    http_scan_timeout_seconds: int = 200
    # Offline inputs for the Functions app (demo, tests, air-gapped rehearsals): exported inventory
    # (az aks list / az vm list / az graph query -o json) and SKU files or folders, comma-separated.
    # When SCAN_INVENTORY_FILES is set, scans read these files instead of Azure.
    inventory_files: tuple[str, ...] = ()
    sku_files: tuple[str, ...] = ()
    # vCPU quota (issue 13): usages exported with `az vm list-usage` (DIR/<sub>/<region>.json or
    # DIR/<region>.json); live scans read Microsoft.Compute usages unless QUOTA_CHECKS is false.
    quota_dir: str = ""
    quota_checks: bool = True
    quota_cache_hours: int = 24  # live vCPU usages kept in the store this long (0: no cache)
    # Prices (issue 13): the public Retail Prices API (no sign-in; "" turns live prices off), the
    # currency, a folder caching its answers for a day, and saved answers for offline scans.
    prices_url: str = "https://prices.azure.com/api/retail/prices"
    prices_currency: str = "USD"
    price_cache_dir: str = ""
    price_files: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str, default: str = "") -> str:
            return (env.get(name) or default).strip()

        cloud_raw = get("AZURE_CLOUD", "public")
        cloud = _CLOUD_ALIASES.get(cloud_raw.lower().replace(" ", ""))
        if cloud is None:
            raise ConfigError(f"AZURE_CLOUD: {cloud_raw!r} is not one of public, china, usgov")
        arm, scope, portal = CLOUDS[cloud]
        custom_arm = get("AZURE_RESOURCE_MANAGER_ENDPOINT")
        if custom_arm:
            if not re.match(r"^https://[^\s/]+(:\d+)?/?$", custom_arm):
                raise ConfigError(
                    f"AZURE_RESOURCE_MANAGER_ENDPOINT: {custom_arm!r} is not an https:// endpoint"
                )
            arm = custom_arm.rstrip("/")
            scope = arm + "/.default"

        critical = _int(env, "SEVERITY_CRITICAL_DAYS", 30)
        high = _int(env, "SEVERITY_HIGH_DAYS", 90)
        medium = _int(env, "SEVERITY_MEDIUM_DAYS", 365)
        if not critical < high < medium:
            raise ConfigError(
                "SEVERITY_CRITICAL_DAYS < SEVERITY_HIGH_DAYS < SEVERITY_MEDIUM_DAYS must hold "
                f"(got {critical}, {high}, {medium})"
            )

        webhooks = {
            name: Secret(value.strip())
            for name, value in env.items()
            if name.startswith(WEBHOOK_SETTING_PREFIX) and value and value.strip()
        }
        # Any https URL: Teams Workflows webhooks moved from *.logic.azure.com to
        # <env>.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/...
        # (old URLs stopped working 2025-11-30: github.com/swisscom/backman/issues/102); both hosts
        # and whatever comes next are accepted, never pinned to a host list.
        for name, secret in webhooks.items():
            if not secret.reveal().startswith("https://") and not secret.reveal().startswith("http://127.0.0.1"):
                raise ConfigError(f"{name}: is not an https:// URL (value not shown)")
        teams_url = get("TEAMS_WEBHOOK_URL")
        if teams_url and not (teams_url.startswith("https://") or teams_url.startswith("http://127.0.0.1")):
            raise ConfigError("TEAMS_WEBHOOK_URL: is not an https:// URL (value not shown)")

        table_endpoint = get("STORAGE_TABLE_ENDPOINT")
        queue_endpoint = get("STORAGE_QUEUE_ENDPOINT")
        account = get("AzureWebJobsStorage__accountName")
        if account and not table_endpoint:
            table_endpoint = f"https://{account}.table.core.windows.net"
        if account and not queue_endpoint:
            queue_endpoint = f"https://{account}.queue.core.windows.net"
        for name, value in (("STORAGE_TABLE_ENDPOINT", table_endpoint), ("STORAGE_QUEUE_ENDPOINT", queue_endpoint)):
            if value and not re.match(r"^https?://", value):
                raise ConfigError(f"{name}: {value!r} is not an http(s):// endpoint")

        prefix = get("TABLE_PREFIX", "retirements")
        if not re.match(r"^[A-Za-z][A-Za-z0-9]{0,39}$", prefix):
            raise ConfigError(f"TABLE_PREFIX: {prefix!r} must be letters and digits, starting with a letter")

        sku_scope = get("SKU_SCOPE", "subscription").lower()
        if sku_scope not in ("subscription", "region"):
            raise ConfigError(f"SKU_SCOPE: {sku_scope!r} is not 'subscription' or 'region'")

        return cls(
            sku_scope=sku_scope,
            sku_cache_hours=_int(env, "SKU_CACHE_HOURS", 24),
            scan_schedule=_ncrontab(env, "SCAN_SCHEDULE", "0 0 2 * * *"),
            feed_schedule=_ncrontab(env, "FEED_SCHEDULE", "0 0 * * * *"),
            feed_url=get("FEED_URL", DEFAULT_FEED_URL),
            feed_fallback_url=get("FEED_FALLBACK_URL", DEFAULT_FEED_FALLBACK_URL),
            catalog_extra_file=get("CATALOG_EXTRA_FILE"),
            scan_scope=parse_scope(get("SCAN_SCOPE", "tenant"), "SCAN_SCOPE"),
            critical_days=critical,
            high_days=high,
            medium_days=medium,
            reminder_days=parse_days_list(get("REMINDER_DAYS", "180,90,30,14,7,1"), "REMINDER_DAYS"),
            teams_webhook_url=Secret(teams_url),
            webhooks=webhooks,
            email_to=parse_emails(get("EMAIL_TO"), "EMAIL_TO"),
            email_from=get("EMAIL_FROM"),
            acs_endpoint=get("ACS_ENDPOINT"),
            acs_connection_string=Secret(get("ACS_CONNECTION_STRING")),
            smtp_host=get("SMTP_HOST"),
            smtp_port=_int(env, "SMTP_PORT", 587, minimum=1, maximum=65535),  # a TCP port
            smtp_username=get("SMTP_USERNAME"),
            smtp_password=Secret(get("SMTP_PASSWORD")),
            smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
            routes=parse_routes(get("NOTIFY_ROUTES"), env),
            report_base_url=get("REPORT_BASE_URL").rstrip("/"),
            storage_connection_string=Secret(get("AzureWebJobsStorage")),
            storage_table_endpoint=table_endpoint,
            storage_queue_endpoint=queue_endpoint,
            table_prefix=prefix,
            notify_queue=get("NOTIFY_QUEUE", "retirement-notifications"),
            scan_queue=_scan_queue(get("SCAN_QUEUE", "retirement-scan-requests"),
                                   get("NOTIFY_QUEUE", "retirement-notifications")),
            notify_dir=get("NOTIFY_DIR"),
            azure_client_id=get("AZURE_CLIENT_ID"),
            cloud=cloud,
            arm_endpoint=arm,
            arm_scope=scope,
            portal_url=portal,
            http_scan_timeout_seconds=_int(env, "HTTP_SCAN_TIMEOUT_SECONDS", 200, minimum=1),
            inventory_files=_paths(get("SCAN_INVENTORY_FILES")),
            sku_files=_paths(get("SCAN_SKU_FILES")),
            quota_dir=get("SCAN_QUOTA_DIR"),
            quota_checks=_bool(env, "QUOTA_CHECKS", True),
            quota_cache_hours=_int(env, "QUOTA_CACHE_HOURS", 6),
            prices_url=_prices_url(env, cloud),
            prices_currency=_currency(get("PRICES_CURRENCY", "USD")),
            price_cache_dir=get("PRICE_CACHE_DIR"),
            price_files=_paths(get("SCAN_PRICE_FILES")),
        )

    def webhook(self, setting_name: str) -> Secret | None:
        """The webhook URL held by a TEAMS_WEBHOOK_* setting (or TEAMS_WEBHOOK_URL)."""
        if setting_name == "TEAMS_WEBHOOK_URL":
            return self.teams_webhook_url or None
        return self.webhooks.get(setting_name)
