"""A fake Azure Resource Manager on 127.0.0.1 over HTTPS, speaking the real wire format. Test-only.

It serves what the scanner reads, so the production code runs unchanged through the real
DefaultAzureCredential, ResourceGraphClient, ComputeManagementClient and ARMPipelineClient:

- App Service managed identity (plain http, as in App Service): GET /msi/token
  ?api-version=2019-08-01&resource=...[&client_id=...] with header X-IDENTITY-HEADER.
- GET /subscriptions (paged with nextLink): the subscriptions the identity can see.
- POST /providers/Microsoft.ResourceGraph/resources: `$top` (cap 1000, default 100), `$skipToken`
  (dollar sign kept, bound to the query and scope), `resultTruncated` as a string, quota headers
  `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` (hh:mm:ss) with 429 when spent,
  injected failures (429 with or without Retry-After, 5xx), 400 past the subscription limit,
  403 AuthorizationFailed (or silent omission) for subscriptions the identity may not read.
  It does not run KQL: it reads the table (`resources`/`resourcecontainers`), the `type =~`
  filter and the management group list from the query text, and serves stored rows that are
  already in the projected ARM shape.
- GET /subscriptions/{id}/providers/Microsoft.Compute/skus?$filter=location eq '...' with
  nextLink paging; per-subscription restrictions; 403/404 for unreadable/unknown subscriptions.
- GET /subscriptions/{id}/providers/Microsoft.Compute/locations/{loc}/usages (REST shape: numbers,
  `name.value`/`localizedValue`, nextLink paging by `usages_page_size`); `usages_access` per
  subscription ("ok" | "forbidden"); `usages_next_host` makes nextLink point elsewhere (a test of
  the client refusing to send its token to another host).
- A request log (`FakeArm.log`) of every request: method, path, query, JSON body, status.
- ARM resources for the real Azure CLI (`az aks nodepool ...`, `az vm ...`, `az vmss ...`): every
  cluster, VM and scale set row added is also served by id. GET/PUT managedClusters; GET (list and
  one), PUT and DELETE (204) agentPools, kept inside the cluster's `agentPoolProfiles`; GET/PUT VMs
  and scale sets in their full shape (hardware, storage, network and OS profiles) so `az vm resize`
  and `az vmss update` can read-modify-write them; POST actions (deallocate, start, manualupgrade,
  listClusterUserCredential, upgradeNodeImageVersion, ...) answer 200. PUTs finish at once
  (provisioningState Succeeded). `puts` lists every PUT body by resource id, in order.
  POST /_fake/group?index=N starts a group of commands from the resources as first added (each
  finding's commands run as if alone); the log and `puts` carry the group.
- The access token is a JWT (unsigned) with a `tid` claim: `az login --identity` reads the tenant
  from it. The sockets set TCP_NODELAY (the CLI's small requests would otherwise wait on Nagle).

Usage:
    fake = FakeArm(); fake.add_subscription(...); fake.add_rows(rows)   (replace_rows: a change)
    with fake.running(tmp_path) as env:   # env: IDENTITY_ENDPOINT, ..., REQUESTS_CA_BUNDLE
        settings = Settings.from_env(env) ...
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.tls import env_vars, https_server, serve_in_thread, trusted

ARG_PATH = "/providers/microsoft.resourcegraph/resources"


@dataclass
class FakeSubscription:
    id: str
    name: str = ""
    state: str = "Enabled"
    management_groups: tuple[str, ...] = ()  # ancestor chain names, nearest first
    listed: bool = True  # appears in GET /subscriptions
    arg_access: bool = True  # Resource Graph may read it
    skus_access: str = "ok"  # "ok" | "forbidden" | "notfound"


@dataclass
class Logged:
    method: str
    path: str
    query: dict
    body: object
    status: int
    at: float
    headers: dict = field(default_factory=dict)
    peer: tuple = ()  # the client's (host, port): one per TCP connection
    group: int = 0


@dataclass(frozen=True)
class RawJson:
    """An answer already serialized (bench/scale_tenant.py joins stored rows into pages)."""

    raw: bytes


def _hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}:{s % 60:02d}"


class FakeArm:
    def __init__(self) -> None:
        self.subscriptions: dict[str, FakeSubscription] = {}
        self._rows_by_type: dict[str, list[dict]] = {}
        self.region_skus: dict[str, list[dict]] = {}  # location -> SKU items (REST shape)
        self.sub_restrictions: dict[tuple[str, str, str], list[dict]] = {}  # (sub, loc, size) -> restrictions
        self.sku_page_size = 2
        self.usages: dict[tuple[str, str], list[dict]] = {}  # (sub, loc) -> usage rows (REST shape)
        self.usages_page_size = 3
        self.usages_forbidden: set[str] = set()  # subscriptions whose usages answer 403
        self.usages_status: dict[str, int] = {}  # subscription -> status every usages request gets (500, ...)
        self.usages_next_host = ""  # e.g. "evil.example:443": nextLink to another host
        self.subscriptions_page_size = 200
        self.max_subscriptions = 1000
        self.default_top = 100
        self.max_top = 1000
        self.forbidden_mode = "error"  # "error": 403 naming the subscription | "silent": omit it
        self.quota: tuple[int, float] | None = None  # (requests per window, window seconds)
        self._window: list[float] = []
        self.failures: list[tuple[int, dict]] = []  # next ARG responses: (status, headers)
        # Faults on the wire (tests/faults), each answering one matching request in place of the
        # real handler: (target, fault), target "arg" | "subscriptions" | "skus" | "usages", fault "reset"
        # (connection closed with RST, no answer), "cut" (200 with the full Content-Length but half
        # the body, then closed) or "html" (200 text/html, a proxy's sign-in page).
        self.wire_faults: list[tuple[str, str]] = []
        self.arg_truncated = False  # `resources` queries: half the rows, resultTruncated "true", no $skipToken
        self.arg_repeat_token = False  # follow-up ARG pages carry the $skipToken they were asked with
        self.subscriptions_repeat_link = False  # GET /subscriptions: a follow-up page's nextLink is itself
        self.log: list[Logged] = []
        self.identity_header = secrets.token_hex(12)
        self.tenant_id = "90a38eda-4006-4dd5-924c-6ca55cacc14d"
        self.token = _jwt({"tid": self.tenant_id, "oid": "5e29463d-71da-4fe0-8e69-999b57db23b0",
                           "aud": "https://management.core.windows.net/", "exp": int(time.time()) + 7200,
                           "jti": secrets.token_hex(8)})
        self.resources: dict[str, dict] = {}  # lower-case ARM id -> resource (ARM shape), for GET/PUT
        self.puts: list[tuple[int, str, dict]] = []  # (group, ARM id as sent, JSON body) of every PUT, in order
        self.group = 0  # set by POST /_fake/group?index=N (tests/fakes/az_runner.py between findings)
        self._pristine: dict[str, dict] | None = None
        self._dirty: set[str] = set()
        self.token_resource = ""
        self._lock = threading.Lock()
        self._results: dict[str, list[dict]] = {}
        self.base_url = ""
        self.cert_path = ""
        self.msi_url = ""

    # ------------------------------------------------------------------ building the tenant
    def add_subscription(self, sub_id: str, **kw) -> FakeSubscription:
        sub = FakeSubscription(sub_id.lower(), **kw)
        self.subscriptions[sub.id] = sub
        return sub

    def add_rows(self, rows) -> None:
        for row in rows:
            self._rows_by_type.setdefault(str(row["type"]).lower(), []).append(row)
            if str(row["type"]).lower() in _SERVED_TYPES:
                self.add_resource(row)
        for rows_ in self._rows_by_type.values():
            rows_.sort(key=lambda r: r["id"].lower())
        self._results.clear()

    def replace_rows(self, rows) -> None:
        """Put these rows in place of the stored rows with the same ids (a resource that changed)."""
        ids = {str(r["id"]).lower() for r in rows}
        for type_rows in self._rows_by_type.values():
            type_rows[:] = [r for r in type_rows if str(r["id"]).lower() not in ids]
        self.add_rows(rows)

    def add_resource(self, row: dict) -> dict:
        """Serve this cluster, VM or scale set by id (ARM shape; `az ... list` rows are folded into
        `properties`). VMs and scale sets get the profiles the CLI reads before it writes."""
        doc = arm_shape(row)
        kind = doc["type"].lower()
        props = doc["properties"]
        if kind == "microsoft.compute/virtualmachines":
            _full_vm(doc)
        elif kind == "microsoft.compute/virtualmachinescalesets":
            _full_vmss(doc)
        elif kind == "microsoft.containerservice/managedclusters":
            props.setdefault("provisioningState", "Succeeded")
            props.setdefault("agentPoolProfiles", [])
        self.resources[doc["id"].lower()] = doc
        return doc

    def agent_pool(self, cluster_id: str, name: str) -> dict | None:
        """The agent pool as stored now (profile shape, with its name), or None."""
        cluster = self.resources.get(cluster_id.lower())
        for p in (cluster or {}).get("properties", {}).get("agentPoolProfiles", []):
            if str(p.get("name", "")).lower() == name.lower():
                return p
        return None

    def add_skus(self, location: str, items: list[dict]) -> None:
        self.region_skus.setdefault(location.lower(), []).extend(items)

    def take_wire_fault(self, method: str, path: str) -> str:
        low = path.lower().rstrip("/")
        target = ("arg" if low == ARG_PATH else "subscriptions" if low == "/subscriptions"
                  else "skus" if low.endswith("/providers/microsoft.compute/skus")
                  else "usages" if low.endswith("/usages") else "")
        with self._lock:
            for i, (t, fault) in enumerate(self.wire_faults):
                if t == target:
                    del self.wire_faults[i]
                    return fault
        return ""

    # ------------------------------------------------------------------ views for tests
    def requests_to(self, path_part: str, method: str | None = None) -> list[Logged]:
        return [r for r in self.log if path_part.lower() in r.path.lower() and (method is None or r.method == method)]

    @property
    def arg_requests(self) -> list[Logged]:
        return self.requests_to(ARG_PATH, "POST")

    # ------------------------------------------------------------------ running
    @contextlib.contextmanager
    def running(self, tmpdir) -> Iterator[dict]:
        """Start ARM (https) and the identity endpoint (http); yield the env a process needs."""
        handler = _make_handler(self)
        msi = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        msi.daemon_threads = True
        with https_server(handler, tmpdir) as (_srv, base_url, cert_path), serve_in_thread(msi):
            self.base_url = base_url
            self.cert_path = cert_path
            self.msi_url = f"http://127.0.0.1:{msi.server_address[1]}/msi/token"
            env = {
                "IDENTITY_ENDPOINT": self.msi_url,
                "IDENTITY_HEADER": self.identity_header,
                "AZURE_RESOURCE_MANAGER_ENDPOINT": base_url,
                "REQUESTS_CA_BUNDLE": cert_path,
                "PRICES_URL": "",  # live scans in tests never ask the public prices API
            }
            identity = {"IDENTITY_ENDPOINT": self.msi_url, "IDENTITY_HEADER": self.identity_header}
            with env_vars(identity), trusted(cert_path):
                yield env

    # ------------------------------------------------------------------ handlers
    def handle(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, object]:
        low = path.lower().rstrip("/")
        if low == "/msi/token":
            return self._msi(query, headers)
        if low == "/_fake/group" and method == "POST":
            # A new group of commands (one finding's): start again from the resources as added.
            with self._lock:
                if self._pristine is None:
                    self._pristine = json.loads(json.dumps(self.resources))
                for rid in self._dirty:  # put back only what the last group changed
                    if rid in self._pristine:
                        self.resources[rid] = json.loads(json.dumps(self._pristine[rid]))
                self._dirty.clear()
                self.group = int(query.get("index", "0"))
            return 200, {}, {"group": self.group}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"WWW-Authenticate": 'Bearer authorization_uri="https://login.example/"'}, {
                "error": {"code": "AuthenticationFailed", "message": "Authentication failed."}}
        if "api-version" not in query:
            return 400, {}, {"error": {"code": "MissingApiVersionParameter",
                                       "message": "The api-version query parameter (?api-version=) is required."}}
        if method == "POST" and low == ARG_PATH:
            return self._arg(json.loads(body or b"{}"))
        if method == "GET" and low == "/subscriptions":
            return self._subscriptions(query)
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.compute/skus", low)
        if method == "GET" and m:
            return self._skus(m.group(1), query)
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.compute/locations/([^/]+)/usages", low)
        if method == "GET" and m:
            return self._usages(m.group(1), m.group(2), query)
        if method == "GET" and re.fullmatch(r"/tenants", low):
            return 200, {}, {"value": [{"id": f"/tenants/{self.tenant_id}", "tenantId": self.tenant_id}]}
        if "/providers/" in low:
            return self._resource(method, path.rstrip("/"), query, body)
        return 404, {}, {"error": {"code": "NotFound", "message": f"no fake for {method} {path}"}}

    def _msi(self, query: dict, headers: dict) -> tuple[int, dict, object]:
        if headers.get("x-identity-header") != self.identity_header:
            return 401, {}, {"error": "invalid_request", "error_description": "missing or wrong X-IDENTITY-HEADER"}
        resource = query.get("resource", "")
        self.token_resource = resource
        return 200, {}, {
            "access_token": self.token,
            "expires_on": str(int(time.time()) + 3600),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": query.get("client_id", "5E29463D-71DA-4FE0-8E69-999B57DB23B0"),
        }

    def _subscriptions(self, query: dict) -> tuple[int, dict, object]:
        listed = [s for s in sorted(self.subscriptions.values(), key=lambda s: s.id) if s.listed]
        start = int(query.get("$skiptoken", "0") or 0)
        page = listed[start:start + self.subscriptions_page_size]
        doc: dict = {"value": [{
            "id": f"/subscriptions/{s.id}", "authorizationSource": "RoleBased", "managedByTenants": [],
            "subscriptionId": s.id, "tenantId": "90a38eda-4006-4dd5-924c-6ca55cacc14d",
            "displayName": s.name or s.id[:8], "state": s.state,
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "EnterpriseAgreement_2014-09-01",
                                     "spendingLimit": "Off"},
        } for s in page], "count": {"type": "Total", "value": len(listed)}}
        if start + self.subscriptions_page_size < len(listed):
            following = start if (self.subscriptions_repeat_link and start) else start + self.subscriptions_page_size
            doc["nextLink"] = f"{self.base_url}/subscriptions?" + urlencode(
                {"api-version": query["api-version"], "$skiptoken": following})
        return 200, {}, doc

    # -- Resource Graph
    def _quota_headers(self) -> tuple[bool, dict]:
        if self.quota is None:
            return True, {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"}
        limit, window = self.quota
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < window]
        if len(self._window) >= limit:
            resets = window - (now - self._window[0])
            return False, {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": _hms(resets)}
        self._window.append(now)
        resets = window - (now - self._window[0])
        return True, {"x-ms-user-quota-remaining": str(limit - len(self._window)),
                      "x-ms-user-quota-resets-after": _hms(resets)}

    def _arg(self, body: dict) -> tuple[int, dict, object]:
        with self._lock:
            if self.failures:
                status, headers = self.failures.pop(0)
                code = "RateLimiting" if status == 429 else "ServiceUnavailable"
                return status, headers, {"error": {"code": code, "message": f"injected {status}"}}
            ok, qheaders = self._quota_headers()
        if not ok:
            return 429, qheaders, {"error": {"code": "RateLimiting", "message": "Please provide below info when asking "
                                             "for support: ... The request was throttled; quota is spent."}}
        subs = [str(s).lower() for s in (body.get("subscriptions") or [])]
        mgs = [str(m).lower() for m in (body.get("managementGroups") or [])]
        if len(subs) > self.max_subscriptions:
            return 400, qheaders, {"error": {"code": "BadRequest", "message": "Please provide below info when asking for "
                                             "support: ... Query is invalid.", "details": [{
                                                 "code": "TooManySubscriptions",
                                                 "message": f"The number of subscriptions {len(subs)} exceeds the "
                                                            f"limit of {self.max_subscriptions}."}]}}
        if subs:
            denied = [s for s in subs if s not in self.subscriptions or not self.subscriptions[s].arg_access]
            if denied and self.forbidden_mode == "error":
                return 403, qheaders, {"error": {"code": "AuthorizationFailed", "message": (
                    "The client does not have authorization to perform action "
                    f"'Microsoft.ResourceGraph/resources/read' over scope '/subscriptions/{denied[0]}' "
                    "or the scope is invalid.")}}
            scope = [s for s in subs if s not in denied]
            if not scope:
                return 400, qheaders, {"error": {"code": "BadRequest", "message": "There must be at least one "
                                                 "subscription eligible to contain resources."}}
        elif mgs:
            scope = [s.id for s in self.subscriptions.values()
                     if s.arg_access and {m.lower() for m in s.management_groups} & set(mgs)]
        else:
            scope = [s.id for s in self.subscriptions.values() if s.arg_access]
        query = str(body.get("query") or "")
        options = body.get("options") or {}
        top = min(int(options.get("$top") or self.default_top), self.max_top)
        qkey = hashlib.sha256((query + "|" + ",".join(sorted(scope))).encode()).hexdigest()[:16]
        offset = 0
        token = options.get("$skipToken")
        if token:
            try:
                decoded = json.loads(base64.b64decode(token))
                offset, bound = int(decoded["o"]), decoded["q"]
            except (ValueError, KeyError, TypeError):
                bound = ""
            if bound != qkey:
                return 400, qheaders, {"error": {"code": "BadRequest", "message": "Invalid $skipToken."}}
        with self._lock:
            rows = self._results.get(qkey)
            if rows is None:
                rows = self._results[qkey] = self._evaluate(query, set(scope))
        page = rows[offset:offset + top]
        doc: dict = {"totalRecords": len(rows), "count": len(page), "data": page, "facets": [],
                     "resultTruncated": "false"}
        if self.arg_truncated and len(rows) > 1 and not query.lstrip().lower().startswith("resourcecontainers") \
                and "\nresourcecontainers" not in query.lower():
            page = rows[offset:offset + min(top, len(rows) // 2)]
            doc.update(count=len(page), data=page, resultTruncated="true")
            return 200, qheaders, doc
        if offset + top < len(rows):
            doc["$skipToken"] = base64.b64encode(json.dumps({"o": offset + top, "q": qkey}).encode()).decode()
            if self.arg_repeat_token and token:
                doc["$skipToken"] = token
        return 200, qheaders, doc

    def _evaluate(self, query: str, scope: set[str]) -> list[dict]:
        text = "\n".join(line.split("//", 1)[0] for line in query.splitlines()).strip()
        table = text.split("|", 1)[0].strip().lower()
        if table == "resourcecontainers":
            m = re.search(r"in~\s*\(([^)]*)\)", text)
            if m is None:  # the subscriptions themselves
                return [{"id": f"/subscriptions/{s}", "subscriptionId": s} for s in sorted(scope)]
            wanted = {n.lower() for n in re.findall(r"'((?:[^'\\]|\\.)*)'", m.group(1))} if m else set()
            out = []
            for s in sorted(self.subscriptions.values(), key=lambda s: s.id):
                hit = sorted({g.lower() for g in s.management_groups} & wanted)
                if s.id in scope and hit:
                    out.append({"id": f"/subscriptions/{s.id}", "subscriptionId": s.id, "managementGroups": hit})
            return out
        types = [t.lower() for t in re.findall(r"type\s*=~\s*'([^']+)'", text)]
        out = []
        for t in types:
            out.extend(r for r in self._rows_by_type.get(t, []) if str(r["subscriptionId"]).lower() in scope)
        return out

    # -- ARM resources (the real Azure CLI)
    def _resource(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, dict, object]:
        low = path.lower()
        pools = re.fullmatch(r"(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/"
                             r"managedclusters/[^/]+)/agentpools(?:/([^/]+))?(?:/([^/]+))?", low)
        if pools:
            return self._agent_pools(method, path, pools.group(1), pools.group(2), pools.group(3), body)
        if low in self.resources:
            doc = self.resources[low]
            if method == "GET":
                return 200, {}, _view(doc, query)
            if method in ("PUT", "PATCH"):
                sent = json.loads(body or b"{}")
                with self._lock:
                    self.puts.append((self.group, path, sent))
                merged = json.loads(json.dumps(sent))
                for key in ("id", "name", "type"):
                    merged[key] = doc[key]
                merged.setdefault("location", doc.get("location"))
                merged.setdefault("properties", {})["provisioningState"] = "Succeeded"
                self.resources[low] = merged
                self._dirty.add(low)
                return 200, {}, merged
            return 405, {}, {"error": {"code": "MethodNotAllowed", "message": f"{method} {path}"}}
        parent, _, action = low.rpartition("/")
        if method == "POST" and parent in self.resources:
            if action in ("listclusterusercredential", "listclusteradmincredential"):
                return 200, {}, {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(
                    _KUBECONFIG.encode()).decode()}]}
            if "/microsoft.containerservice/" in parent:
                return 204, {}, None  # start, stop, ...: AKS answers 202/204 (the SDK accepts nothing else)
            return 200, {}, {}
        if method == "GET" and parent in self.resources and action == "instanceview":
            return 200, {}, self.resources[parent]["properties"].get("instanceView", {})
        return 404, {}, {"error": {"code": "ResourceNotFound", "message": f"no resource {path}"}}

    def _agent_pools(self, method, path, cluster_id, name, action, body) -> tuple[int, dict, object]:
        cluster = self.resources.get(cluster_id)
        if cluster is None:
            return 404, {}, {"error": {"code": "ResourceNotFound", "message": f"no managed cluster {cluster_id}"}}
        profiles = cluster["properties"].setdefault("agentPoolProfiles", [])
        base = cluster["id"] + "/agentPools"
        if method in ("PUT", "DELETE"):
            self._dirty.add(cluster_id)

        def as_resource(p: dict) -> dict:
            props = {k: v for k, v in p.items() if k != "name"}
            scale = (props.get("virtualMachinesProfile") or {}).get("scale") or {}
            if any("sizes" in m for m in scale.get("manual") or []):
                # An export from a preview API version (`sizes` lists); a GA api-version reads one
                # `size` per entry, which a one-size list is. Entries of several sizes have no GA form.
                props = json.loads(json.dumps(props))
                props["virtualMachinesProfile"]["scale"]["manual"] = [
                    {"size": m["sizes"][0], "count": m.get("count")} if len(m.get("sizes") or []) == 1 else m
                    for m in props["virtualMachinesProfile"]["scale"]["manual"]]
            props.setdefault("provisioningState", "Succeeded")
            return {"id": f"{base}/{p['name']}", "name": p["name"],
                    "type": "Microsoft.ContainerService/managedClusters/agentPools", "properties": props}

        if name is None:
            if method == "GET":
                return 200, {}, {"value": [as_resource(p) for p in profiles]}
            return 405, {}, {"error": {"code": "MethodNotAllowed", "message": f"{method} {path}"}}
        found = next((p for p in profiles if str(p.get("name", "")).lower() == name), None)
        if action is not None:
            if method == "POST" and found is not None:
                return 200, {}, as_resource(found)
            return 404, {}, {"error": {"code": "NotFound", "message": f"no fake for {method} {path}"}}
        if method == "GET":
            if found is None:
                return 404, {}, {"error": {"code": "NotFound", "message": f"agent pool {name} not found"}}
            return 200, {}, as_resource(found)
        if method == "PUT":
            sent = json.loads(body or b"{}")
            with self._lock:
                self.puts.append((self.group, path, sent))
            refused = _aks_refuses(cluster["properties"], sent.get("properties") or {}, new=found is None,
                                   name=path.rsplit("/", 1)[-1])
            if refused:
                return 400, {}, {"error": {"code": refused[0], "message": refused[1]}}
            profile = {"name": path.rsplit("/", 1)[-1], **(sent.get("properties") or {})}
            profile["provisioningState"] = "Succeeded"
            if found is not None:
                profiles[profiles.index(found)] = profile
            else:
                profiles.append(profile)
            return 200, {}, as_resource(profile)
        if method == "DELETE":
            if found is None:
                return 204, {}, None
            profiles.remove(found)
            return 204, {}, None
        return 405, {}, {"error": {"code": "MethodNotAllowed", "message": f"{method} {path}"}}

    # -- SKUs
    def _skus(self, sub_id: str, query: dict) -> tuple[int, dict, object]:
        sub = self.subscriptions.get(sub_id)
        if sub is None or sub.skus_access == "notfound":
            return 404, {}, {"error": {"code": "SubscriptionNotFound",
                                       "message": f"The subscription '{sub_id}' could not be found."}}
        if sub.skus_access == "forbidden":
            return 403, {}, {"error": {"code": "AuthorizationFailed", "message": (
                "The client does not have authorization to perform action 'Microsoft.Compute/skus/read' over "
                f"scope '/subscriptions/{sub_id}' or the scope is invalid.")}}
        flt = query.get("$filter", "")
        m = re.fullmatch(r"\s*location\s+eq\s+'([^']+)'\s*", flt)
        locations = [m.group(1).lower()] if m else sorted(self.region_skus)
        items = []
        for loc in locations:
            for item in self.region_skus.get(loc, []):
                item = json.loads(json.dumps(item))
                item["locations"] = [loc]
                item["locationInfo"] = [li for li in item.get("locationInfo", []) if li.get("location", "").lower() == loc] \
                    or [{"location": loc, "zones": []}]
                extra = self.sub_restrictions.get((sub_id, loc, item["name"].lower()))
                if extra is not None:
                    item["restrictions"] = extra
                items.append(item)
        start = int(query.get("$skiptoken", "0") or 0)
        doc: dict = {"value": items[start:start + self.sku_page_size]}
        if start + self.sku_page_size < len(items):
            doc["nextLink"] = f"{self.base_url}/subscriptions/{sub_id}/providers/Microsoft.Compute/skus?" + urlencode(
                {"api-version": query["api-version"], "$filter": flt, "$skiptoken": start + self.sku_page_size})
        return 200, {}, doc


def _usages_method(self: FakeArm, sub_id: str, loc: str, query: dict) -> tuple[int, dict, object]:
    if sub_id in self.usages_status:
        status = self.usages_status[sub_id]
        return status, {}, {"error": {"code": "InternalServerError" if status >= 500 else "Failed",
                                      "message": f"injected {status}"}}
    if sub_id in self.usages_forbidden:
        return 403, {}, {"error": {"code": "AuthorizationFailed", "message": (
            "The client does not have authorization to perform action 'Microsoft.Compute/locations/usages/read' "
            f"over scope '/subscriptions/{sub_id}' or the scope is invalid.")}}
    if sub_id not in self.subscriptions:
        return 404, {}, {"error": {"code": "SubscriptionNotFound", "message": f"The subscription '{sub_id}' could not be found."}}
    rows = self.usages.get((sub_id, loc), [])
    start = int(query.get("$skiptoken", "0") or 0)
    doc: dict = {"value": rows[start:start + self.usages_page_size]}
    if start + self.usages_page_size < len(rows):
        base = f"https://{self.usages_next_host}" if self.usages_next_host else self.base_url
        doc["nextLink"] = f"{base}/subscriptions/{sub_id}/providers/Microsoft.Compute/locations/{loc}/usages?" + \
            urlencode({"api-version": query["api-version"], "$skiptoken": start + self.usages_page_size})
    return 200, {}, doc


FakeArm._usages = _usages_method  # kept apart from the class body: other fakes grow there too


def usage_row(name: str, current: int, limit: int, label: str = "") -> dict:
    """One usages row as the REST API returns it (numbers; the CLI prints them as strings)."""
    return {"limit": limit, "unit": "Count", "currentValue": current,
            "name": {"value": name, "localizedValue": label or name}}


def _make_handler(fake: FakeArm):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _do(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            fault = fake.take_wire_fault(self.command, parts.path)
            if fault:
                self._fault(fault, parts, query)
                return
            try:
                status, out_headers, doc = fake.handle(self.command, parts.path, query, headers, raw)
            except Exception as exc:  # noqa: BLE001 - a fake must answer, and say why
                status, out_headers, doc = 500, {}, {"error": {"code": "FakeBug", "message": repr(exc)}}
            try:
                body_json = json.loads(raw) if raw else None
            except ValueError:
                body_json = raw.decode("utf-8", "replace")
            with fake._lock:
                fake.log.append(Logged(self.command, parts.path, query, body_json, status, time.monotonic(),
                                       dict(out_headers), tuple(self.client_address[:2]), fake.group))
            data = doc.raw if isinstance(doc, RawJson) else json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            if doc is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", secrets.token_hex(8))
            for k, v in out_headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _fault(self, fault: str, parts, query: dict) -> None:
            with fake._lock:
                fake.log.append(Logged(self.command, parts.path, query, None, {"reset": 0, "cut": -200}.get(fault, 200),
                                       time.monotonic(), {"fault": fault}, tuple(self.client_address[:2])))
            self.close_connection = True
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if fault == "cut":
                data = json.dumps({"value": [], "data": [{"id": "x" * 64}] * 50, "nextLink": None}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                return
            page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy sign-in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = _do
        do_POST = _do
        do_PUT = _do
        do_PATCH = _do
        do_DELETE = _do

    return Handler


# --------------------------------------------------------------------------- ARM shapes

_SERVED_TYPES = frozenset({"microsoft.containerservice/managedclusters", "microsoft.compute/virtualmachines",
                           "microsoft.compute/virtualmachinescalesets"})
_ENVELOPE = ("id", "name", "type", "location", "tags", "sku", "zones", "identity", "plan", "extendedLocation",
             "managedBy", "kind", "etag")
_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster: {server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true}
  name: fake
contexts:
- context: {cluster: fake, user: fake}
  name: fake
current-context: fake
users:
- name: fake
  user: {token: not-a-secret}
"""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwt(claims: dict) -> str:
    """An unsigned-looking JWT (random signature): readers that skip verification get the claims."""
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(secrets.token_bytes(32))}"


def arm_shape(row: dict) -> dict:
    """A row as ARM returns the resource: envelope fields at the top, the rest under `properties`
    (`az aks list` / `az vm list` print them flattened). A deep copy."""
    row = json.loads(json.dumps(row))
    if isinstance(row.get("properties"), dict):
        props = row["properties"]
        out = {k: v for k, v in row.items() if k in _ENVELOPE}
    else:
        out = {k: v for k, v in row.items() if k in _ENVELOPE}
        props = {k: v for k, v in row.items() if k not in _ENVELOPE and k not in ("resourceGroup", "subscriptionId")}
    out["type"] = {"microsoft.containerservice/managedclusters": "Microsoft.ContainerService/managedClusters",
                   "microsoft.compute/virtualmachines": "Microsoft.Compute/virtualMachines",
                   "microsoft.compute/virtualmachinescalesets": "Microsoft.Compute/virtualMachineScaleSets",
                   }.get(str(out.get("type", "")).lower(), out.get("type"))
    out["location"] = str(out.get("location") or "westeurope").replace(" ", "").lower()
    out["properties"] = props
    for key in ("zones", "tags", "sku"):
        if out.get(key) is None:
            out.pop(key, None)
    return out


def _full_vm(doc: dict) -> None:
    props = doc["properties"]
    props.setdefault("hardwareProfile", {"vmSize": "Standard_D2s_v5"})
    storage = props.setdefault("storageProfile", {})
    os_disk = storage.setdefault("osDisk", {})
    os_type = os_disk.get("osType") or "Linux"
    rg_path = doc["id"].split("/providers/")[0]
    os_disk.update({"osType": os_type, "name": f"{doc['name']}_OsDisk", "createOption": "FromImage",
                    "caching": "ReadWrite", "managedDisk": {
                        "storageAccountType": "Premium_LRS",
                        "id": f"{rg_path}/providers/Microsoft.Compute/disks/{doc['name']}_OsDisk"},
                    "deleteOption": "Detach", "diskSizeGB": 128} | {k: v for k, v in os_disk.items() if v is not None})
    storage.setdefault("imageReference", {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                          "version": "latest"})
    storage.setdefault("dataDisks", [])
    rid = doc["id"]
    props.setdefault("networkProfile", {"networkInterfaces": [
        {"id": f"{rg_path}/providers/Microsoft.Network/networkInterfaces/{doc['name']}-nic",
         "properties": {"primary": True}}]})
    props.setdefault("osProfile", {"computerName": doc["name"], "adminUsername": "azureuser",
                                   "linuxConfiguration" if os_type == "Linux" else "windowsConfiguration":
                                       {"provisionVMAgent": True}, "secrets": []})
    if props.get("securityProfile") in (None, {}) or not (props.get("securityProfile") or {}).get("securityType"):
        props.pop("securityProfile", None)
    for key in [k for k, v in props.items() if v is None]:
        props.pop(key)
    props.pop("extended", None)
    props["provisioningState"] = "Succeeded"
    props.setdefault("vmId", hashlib.sha256(rid.lower().encode()).hexdigest()[:8] + "-0000-4000-8000-000000000000")
    props["instanceView"] = {"hyperVGeneration": "V2" if doc["properties"].get("securityProfile") else "V1",
                             "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}


def _full_vmss(doc: dict) -> None:
    props = doc["properties"]
    doc.setdefault("sku", {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": 2})
    props.setdefault("upgradePolicy", {"mode": "Manual"})
    mode = props.get("orchestrationMode") or "Uniform"
    props["orchestrationMode"] = mode
    profile = props.setdefault("virtualMachineProfile", {})
    storage = profile.setdefault("storageProfile", {})
    os_disk = storage.setdefault("osDisk", {})
    os_disk.update({"osType": os_disk.get("osType") or "Linux", "createOption": "FromImage", "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS"}})
    storage.setdefault("imageReference", {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                          "version": "latest"})
    profile.setdefault("osProfile", {"computerNamePrefix": doc["name"][:9], "adminUsername": "azureuser",
                                     "linuxConfiguration": {"provisionVMAgent": True}, "secrets": []})
    rg_path = doc["id"].split("/providers/")[0]
    profile.setdefault("networkProfile", {"networkInterfaceConfigurations": [{
        "name": f"{doc['name'][:9]}nic", "properties": {"primary": True, "ipConfigurations": [{
            "name": "ipconfig1", "properties": {"subnet": {
                "id": f"{rg_path}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"}}}]}}]})
    sec = profile.get("securityProfile")
    if not sec or not sec.get("securityType"):
        profile.pop("securityProfile", None)
    props["provisioningState"] = "Succeeded"


def _minor(version) -> tuple[int, ...]:
    parts = []
    for p in str(version or "").lstrip("vV").split("."):
        if not p.isdigit():
            break
        parts.append(int(p))
    return tuple(parts)


_POOL_NAME = re.compile(r"[a-z][a-z0-9]*")
# OS SKU -> (first, last) Kubernetes minor it is supported on (None: no bound), from the "Supported
# Kubernetes versions" table of azure-aks-docs articles/aks/upgrade-os-version.md @ d91258ba
_OS_SKU_RANGE = {
    "ubuntu2404": ((1, 32), (1, 38)),
    "ubuntu2204": ((1, 25), (1, 36)),
    "azurelinux3": ((1, 28), (1, 36)),
    "azurelinuxosguard": ((1, 32), None),
    "azurecontainerlinux": ((1, 34), None),
}


def _aks_refuses(cluster: dict, pool: dict, new: bool, name: str = "") -> tuple[str, str] | None:
    """What AKS itself would refuse in an agentPool PUT (a few documented rules), as (code, message):
    a new pool on an older version than the control plane; an OS SKU the pool's Kubernetes version
    does not support (azure-aks-docs upgrade-os-version.md @ d91258ba: Azure Linux 2.0 below 1.32, whose
    images are removed; Windows2019 on 1.33+; Windows2022 on 1.37+; Windows2025 below 1.32); a
    Windows2025 pool without the FIPS image (upgrade-windows-os.md @ cfccec22)."""
    windows = str(pool.get("osType") or "").lower() == "windows"
    if new and name:
        # "may only contain lowercase alphanumeric characters and must begin with a lowercase letter";
        # 1-12 characters for Linux pools, 1-6 for Windows (learn.microsoft.com/azure/aks/use-system-pools#limitations)
        limit = 6 if windows else 12
        if not _POOL_NAME.fullmatch(name) or len(name) > limit:
            return "InvalidParameter", (f"agent pool name {name!r}: lower-case letters and digits, starting with a "
                                        f"letter, at most {limit} characters for a {'Windows' if windows else 'Linux'} pool")
    if new and str(pool.get("mode") or "").lower() == "system":
        # new system pools: osType Linux, no B-series sizes, room for at least 30 pods
        # (learn.microsoft.com/azure/aks/use-system-pools#limitations); pools made before a rule stay as they are
        if windows:
            return "InvalidParameter", "system node pools must run Linux"
        if re.match(r"standard_b\d", str(pool.get("vmSize") or ""), re.I):
            return "InvalidParameter", f"system node pools do not support B-series sizes ({pool.get('vmSize')})"
        if isinstance(pool.get("maxPods"), int) and pool["maxPods"] < 30:
            return "InvalidParameter", f"system node pools must support at least 30 pods, not {pool['maxPods']}"
    control = _minor(cluster.get("currentKubernetesVersion") or cluster.get("kubernetesVersion"))
    version = _minor(pool.get("orchestratorVersion")) or control
    if new and control and version and version < control:
        return "AgentPoolK8sVersionNotSupported", (
            f"new node pools run the control plane's version {'.'.join(map(str, control))} or its patch, "
            f"not {pool.get('orchestratorVersion')}")
    sku = str(pool.get("osSKU") or "").lower()
    mm = version[:2]
    if not mm:
        return None
    if sku in ("azurelinux", "cblmariner", "mariner") and mm < (1, 32) and new:
        return "OSSKUNotSupported", f"OS SKU {pool.get('osSKU')} on {'.'.join(map(str, mm))} is Azure Linux 2.0: no images"
    if sku in _OS_SKU_RANGE:
        first, last = _OS_SKU_RANGE[sku]
        if mm < first or (last and mm > last):
            return "OSSKUNotSupported", (f"OS SKU {pool.get('osSKU')} is supported on Kubernetes "
                                         f"{'.'.join(map(str, first))}" + (f" to {'.'.join(map(str, last))}" if last
                                                                            else " and later")
                                         + f", not {'.'.join(map(str, mm))}")
    if sku == "ubuntu2404" and pool.get("enableFIPS") is True:
        # the FIPS Ubuntu image is "Not yet supported for Ubuntu 24.04+" (azure-aks-docs node-images.md @ 48d78c92)
        return "OSSKUNotSupported", "FIPS-enabled images are not available for Ubuntu 24.04 (Ubuntu2404)"
    if sku == "windows2019" and mm >= (1, 33):
        return "OSSKUNotSupported", "Windows2019 is not supported on Kubernetes 1.33 and later"
    if sku == "windows2022" and mm >= (1, 37) and new:
        return "OSSKUNotSupported", "Windows2022 is not supported on Kubernetes 1.37 and later"
    if sku == "windows2025":
        if mm < (1, 32):
            return "OSSKUNotSupported", "Windows2025 needs Kubernetes 1.32 or later"
        if new and pool.get("enableFIPS") is not True:
            return "FIPSRequired", "Windows2025 node pools require a FIPS-enabled image (--enable-fips-image)"
    return None


def _view(doc: dict, query: dict) -> dict:
    if "instanceview" in str(query.get("$expand", "")).lower():
        return doc
    out = json.loads(json.dumps(doc))
    out.get("properties", {}).pop("instanceView", None)
    return out


# --------------------------------------------------------------------------- synthetic tenants

_SIZES = ("Standard_DS2_v2", "Standard_D4s_v3", "Standard_D4s_v5", "Standard_F8s_v2", "Standard_B4ms", "Standard_NC6")
_REGIONS = ("westeurope", "northeurope", "eastus", "eastus2", "uksouth")


def sub_id(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def cluster_row(sub: str, i: int, pools: int = 3, region: str = "westeurope") -> dict:
    rg, name = f"rg-{i % 50}", f"aks-{i:05d}"
    profiles = []
    for p in range(pools):
        if p == pools - 1 and pools > 2:
            profiles.append({"name": f"vm{p}", "type": "VirtualMachines", "mode": "User", "osType": "Linux",
                             "virtualMachinesProfile": {"scale": {"manual": [
                                 {"size": _SIZES[(i + p) % len(_SIZES)], "count": 2},
                                 {"size": "Standard_D2s_v5", "count": 1}]}},
                             "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202409.23.0",
                             "powerState": {"code": "Running"}})
            continue
        profiles.append({"name": "system" if p == 0 else f"pool{p}", "count": 3, "vmSize": _SIZES[(i + p) % len(_SIZES)],
                         "type": "VirtualMachineScaleSets", "mode": "System" if p == 0 else "User",
                         "osType": "Windows" if p == 2 else "Linux", "osSKU": "" if p == 2 else "Ubuntu",
                         "enableAutoScaling": p == 1, "minCount": 1 if p == 1 else None,
                         "maxCount": 10 if p == 1 else None, "availabilityZones": ["1", "2", "3"],
                         "maxPods": 110, "osDiskSizeGB": 128, "osDiskType": "Managed",
                         "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202409.23.0",
                         "orchestratorVersion": "1.30.5", "powerState": {"code": "Running"}})
    return {
        "id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
        "name": name, "type": "microsoft.containerservice/managedclusters", "location": region,
        "subscriptionId": sub, "resourceGroup": rg, "tags": {"owner": f"team{i % 17}@example.com"},
        "sku": {"name": "Base", "tier": "Free"}, "zones": None,
        "properties": {"kubernetesVersion": "1.30.5", "currentKubernetesVersion": "1.30.5",
                       "nodeResourceGroup": f"MC_{rg}_{name}_{region}", "powerState": {"code": "Running"},
                       "provisioningState": "Succeeded", "agentPoolProfiles": profiles},
    }


def aks_scale_set_rows(cluster: dict) -> list[dict]:
    """The scale sets AKS creates for a cluster's scale-set pools (in the node resource group)."""
    out = []
    nrg = cluster["properties"]["nodeResourceGroup"]
    for p in cluster["properties"]["agentPoolProfiles"]:
        if p["type"] != "VirtualMachineScaleSets":
            continue
        name = f"aks-{p['name']}-12345678-vmss"
        out.append({
            "id": f"/subscriptions/{cluster['subscriptionId']}/resourceGroups/{nrg}/providers/"
                  f"Microsoft.Compute/virtualMachineScaleSets/{name}",
            "name": name, "type": "microsoft.compute/virtualmachinescalesets", "location": cluster["location"],
            "subscriptionId": cluster["subscriptionId"], "resourceGroup": nrg.lower(),
            "tags": {"aks-managed-poolName": p["name"], "aks-managed-orchestrator": "Kubernetes:1.30.5"},
            "sku": {"name": p["vmSize"], "tier": "Standard", "capacity": p.get("count")}, "zones": ["1", "2", "3"],
            "properties": {"orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"},
                           "virtualMachineProfile": {"storageProfile": {"osDisk": {"osType": p.get("osType")}},
                                                     "securityProfile": {"securityType": None}}},
        })
    return out


def vm_row(sub: str, i: int, region: str = "westeurope") -> dict:
    name = f"vm-{i:05d}"
    return {"id": f"/subscriptions/{sub}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/{name}",
            "name": name, "type": "microsoft.compute/virtualmachines", "location": region, "subscriptionId": sub,
            "resourceGroup": "rg-vms", "tags": {}, "sku": None, "zones": None,
            "properties": {"hardwareProfile": {"vmSize": _SIZES[i % len(_SIZES)]},
                           "storageProfile": {"osDisk": {"osType": "Linux"}},
                           "securityProfile": {"securityType": None}, "virtualMachineScaleSet": None,
                           "extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}}}}


def synthetic_tenant(fake: FakeArm, subscriptions: int, clusters: int, vms: int = 0, pools: int = 3,
                     management_groups: tuple[str, ...] = ()) -> list[dict]:
    """Fill `fake` with subscriptions, clusters (with their AKS scale sets) and VMs; return the rows.

    Subscription i sits under management_groups[i % len(management_groups)] when given."""
    subs = [sub_id(i) for i in range(subscriptions)]
    for i, s in enumerate(subs):
        mgs = (management_groups[i % len(management_groups)], "root") if management_groups else ("root",)
        fake.add_subscription(s, name=f"sub-{i}", management_groups=mgs)
    rows: list[dict] = []
    for i in range(clusters):
        c = cluster_row(subs[i % len(subs)], i, pools=pools, region=_REGIONS[i % len(_REGIONS)])
        rows.append(c)
        rows.extend(aks_scale_set_rows(c))
    for i in range(vms):
        rows.append(vm_row(subs[i % len(subs)], i, region=_REGIONS[i % len(_REGIONS)]))
    fake.add_rows(rows)
    return rows
