"""The ARM pipeline reads proxies and the CA bundle from the environment once, as requests would
per request: a proxy and a private CA still apply, NO_PROXY still exempts the ARM host."""

from __future__ import annotations

import pytest

from scanner.sources.clients import _transport_env_read_once

ARM = "https://management.azure.com"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                 "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_and_a_ca_bundle_from_the_environment_apply(monkeypatch, tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("not read here")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    transport = _transport_env_read_once(ARM)
    assert transport.session.proxies.get("https") == "http://proxy.corp.example:3128"
    assert transport.connection_config.verify == str(bundle)
    assert transport.session.trust_env is False  # not read again per request


def test_no_proxy_exempts_the_arm_host_and_curl_bundle_is_the_fallback(monkeypatch, tmp_path):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    monkeypatch.setenv("NO_PROXY", ".azure.com,localhost")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "b.pem"))
    transport = _transport_env_read_once(ARM)
    assert not transport.session.proxies
    assert transport.connection_config.verify == str(tmp_path / "b.pem")


def test_without_settings_it_verifies_with_the_default_store():
    transport = _transport_env_read_once(ARM)
    assert transport.connection_config.verify is True and not transport.session.proxies
