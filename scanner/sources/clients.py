"""Azure SDK clients for the sources, built lazily, once per process (scanner.bootstrap hands
them out; a source called without clients builds its own here, never through bootstrap).

    credential(settings) -> TokenCredential
        DefaultAzureCredential: managed identity in Azure (AZURE_CLIENT_ID / settings.azure_client_id
        picks a user-assigned identity), `az login` locally. The authority follows AZURE_CLOUD.
    resource_graph_client(settings) -> ResourceGraphClient
    compute_client(settings, subscription_id) -> ComputeManagementClient
    arm_client(settings) -> ARMPipelineClient   (plain ARM GETs such as /subscriptions)
    arm_pipeline(settings) -> ARMPipelineClient the one pipeline of sources.arm.ArmJson
    clients(settings) -> Clients                 all of the above behind one lazy object
    forget_clients() -> None                     close and forget them (tests)

Every client talks to settings.arm_endpoint with the token scope settings.arm_scope, so sovereign
clouds (AZURE_CLOUD) and custom endpoints (AZURE_RESOURCE_MANAGER_ENDPOINT) work unchanged.
Nothing connects when a client is built; the first request does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

from scanner.config import Settings

_AUTHORITIES = {
    "china": "login.chinacloudapi.cn",
    "usgov": "login.microsoftonline.us",
}

_lock = threading.RLock()
_cache: dict[tuple, Any] = {}


def _key(settings: Settings, *extra: str) -> tuple:
    return (settings.cloud, settings.arm_endpoint, settings.arm_scope, settings.azure_client_id, *extra)


def _cached(key: tuple, build):
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def _quiet_sdk_logs() -> None:
    # The SDK logs every request/response at INFO; our stages log one line each. Only ever raise
    # the level: the CLI may already have silenced the SDK further.
    for name in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def credential(settings: Settings) -> Any:
    def build():
        _quiet_sdk_logs()
        from azure.identity import DefaultAzureCredential

        kwargs: dict[str, Any] = {}
        if settings.azure_client_id:
            kwargs["managed_identity_client_id"] = settings.azure_client_id
        if settings.cloud in _AUTHORITIES:
            kwargs["authority"] = _AUTHORITIES[settings.cloud]
        return DefaultAzureCredential(**kwargs)

    return _cached(_key(settings, "credential"), build)


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    return {"base_url": settings.arm_endpoint, "credential_scopes": [settings.arm_scope]}


def resource_graph_client(settings: Settings) -> Any:
    def build():
        from azure.mgmt.resourcegraph import ResourceGraphClient

        # retry_status=0: 429/5xx come back to the caller, which honours ARG's quota headers.
        return ResourceGraphClient(credential(settings), retry_status=0, **_client_kwargs(settings))

    return _cached(_key(settings, "resource_graph"), build)


def compute_client(settings: Settings, subscription_id: str) -> Any:
    def build():
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(credential(settings), subscription_id, **_client_kwargs(settings))

    return _cached(_key(settings, "compute", subscription_id.lower()), build)


def _arm_policies(settings: Settings, retry: Any, *decode: Any) -> list:
    """The ARM pipeline's policies: request id, headers, user agent, `decode` (optional), redirects,
    `retry`, the ARM token, logging."""
    from azure.core.pipeline import policies
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    return [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker="aks-retirement-scanner"),
        *decode,
        policies.RedirectPolicy(),
        retry,
        ARMChallengeAuthenticationPolicy(credential(settings), settings.arm_scope),
        policies.NetworkTraceLoggingPolicy(),
        policies.HttpLoggingPolicy(),
    ]


def arm_client(settings: Settings) -> Any:
    def build():
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient

        return ARMPipelineClient(base_url=settings.arm_endpoint, policies=_arm_policies(
            settings, policies.RetryPolicy(), policies.ContentDecodePolicy()))

    return _cached(_key(settings, "arm"), build)


def arm_pipeline(settings: Settings) -> Any:
    def build():
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient

        # 429/5xx come back to ArmJson (it reads ARM's and Resource Graph's retry headers); bodies
        # are parsed by ArmJson, once. One requests.Session, whose pool keeps 10 connections per
        # host (more than the 8 SKU workers), reused by every request of the process; the
        # environment read once (below).
        return ARMPipelineClient(base_url=settings.arm_endpoint,
                                 policies=_arm_policies(settings, policies.RetryPolicy(retry_status=0)),
                                 transport=_transport_env_read_once(settings.arm_endpoint))

    return _cached(_key(settings, "arm_pipeline", *_env_settings()), build)


_ENV_SETTINGS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                 "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


def _env_settings() -> tuple[str, ...]:
    """The variables requests would read on every request, as the pipeline's cache key."""
    return tuple(os.environ.get(name, "") for name in _ENV_SETTINGS)


def _transport_env_read_once(endpoint: str) -> Any:
    """azure-core's requests transport with what requests reads from the environment on every
    request (proxy variables against NO_PROXY, the CA bundle variables, ~/.netrc) read once for the
    ARM host instead. Per request that lookup walks the whole environment: about 0.15 ms, which is
    18,000 requests x 0.15 ms on a cold 300k-resource scan. Same behaviour: HTTPS_PROXY and
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE still apply (no .netrc: ARM takes a bearer token)."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    transport = RequestsTransport(use_env_settings=False, connection_verify=verify)
    transport.open()  # creates the session (trust_env off, azure-core's adapter mounted)
    transport.session.proxies.update(requests.utils.get_environ_proxies(endpoint))
    return transport


class Clients:
    """Lazy bundle handed to collectors (`clients=` parameter); each client built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def credential(self) -> Any:
        return credential(self.settings)

    @property
    def resource_graph(self) -> Any:
        return resource_graph_client(self.settings)

    @property
    def arm(self) -> Any:
        return arm_client(self.settings)

    @property
    def arm_pipeline(self) -> Any:
        return arm_pipeline(self.settings)

    def compute(self, subscription_id: str) -> Any:
        return compute_client(self.settings, subscription_id)


def clients(settings: Settings) -> Clients:
    return _cached(_key(settings, "clients"), lambda: Clients(settings))


def forget_clients() -> None:
    """Close and forget every cached client (tests; a long-lived process never needs it)."""
    with _lock:
        items = list(_cache.values())
        _cache.clear()
    for item in items:
        close = getattr(item, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # best effort on shutdown
                close()
