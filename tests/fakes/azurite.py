"""pytest fixtures around scanner.devtools.azurite (the pinned Azurite from node_modules).

Use it from any test module or conftest:

    pytest_plugins = ["tests.fakes.azurite"]     # (tests/conftest.py already loads it)

    def test_x(azurite_server):                  # session-scoped: one Azurite per test run
        azurite_server.connection_string         # blob + queue + table
        azurite_server.table_endpoint / .queue_endpoint / .blob_endpoint

    def test_y(azurite_env):                     # AzureWebJobsStorage + a fresh TABLE_PREFIX
        Settings.from_env(azurite_env)

Tables and queues outlive a test: give each test its own names (`unique_name` helps).
"""

from __future__ import annotations

import itertools
import os

import pytest

from scanner.devtools.azurite import Azurite, AzuriteError, azurite

_counter = itertools.count(1)


def unique_name(prefix: str = "t") -> str:
    """A table/queue-safe name unique within this test session (letters and digits)."""
    return f"{prefix}{os.getpid()}x{next(_counter)}"


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory) -> Azurite:
    location = tmp_path_factory.mktemp("azurite")
    try:
        with azurite(location=location) as az:
            yield az
    except AzuriteError as exc:  # not installed: a clear failure, not a hang
        pytest.fail(str(exc))


@pytest.fixture
def azurite_env(azurite_server) -> dict[str, str]:
    """Environment for Settings.from_env: Azurite's connection string and a per-test table prefix."""
    return {"AzureWebJobsStorage": azurite_server.connection_string, "TABLE_PREFIX": unique_name("t")}
