"""The Azurite helper: starts on free loopback ports, serves tables and queues, stops cleanly."""

import os
import socket
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from scanner.devtools.azurite import AzuriteError, azurite
from tests.fakes.azurite import unique_name


def _open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_session_fixture_serves_tables_and_queues(azurite_server):
    name = unique_name("smoke")
    tables = TableServiceClient.from_connection_string(azurite_server.connection_string)
    tables.create_table(name)
    assert name in [t.name for t in tables.list_tables()]
    queues = QueueServiceClient.from_connection_string(azurite_server.connection_string)
    queues.create_queue(name)
    assert name in [q.name for q in queues.list_queues()]
    assert azurite_server.host == "127.0.0.1"


def test_context_manager_stops_process_and_removes_its_data_dir():
    with azurite() as az:
        ports = (az.blob_port, az.queue_port, az.table_port)
        assert len(set(ports)) == 3
        assert all(_open(az.host, p) for p in ports)
        TableServiceClient.from_connection_string(az.connection_string).create_table("alive")
        data_dir, pid = Path(az.location), az.pid
        assert data_dir.exists()
    assert not data_dir.exists()
    assert not any(_open("127.0.0.1", p) for p in ports)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(AzuriteError, match="not found at"), azurite(binary=tmp_path / "nope"):
        pass
