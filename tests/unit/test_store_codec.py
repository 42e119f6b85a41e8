"""to_entity / from_entity and the big-text packing used by the store (no network)."""

import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from scanner.core.lifecycle import OPEN, RESOLVED, Record
from scanner.core.model import ResourceKind, Severity, Status
from scanner.errors import StoreError
from scanner.tables.findings import from_entity, partition_key, to_entity
from scanner.tables.kit import MAX_PARTS, PART_CHARS, pack_text, unpack_text
from scanner.tables.runs import history_from_runs, run_from_entity, run_to_entity
from tests import factories

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
T0 = datetime(2026, 3, 1, 2, 0, 0, 123456, tzinfo=timezone.utc)


def full_finding(commands=("az aks nodepool add -g rg --cluster-name c -n np2 -s Standard_D4s_v5",)):
    ret = factories.retirement(
        "av2-2026", "Av2 “retires”", date(2026, 11, 15), series=("Av2",),
        sizes=("Standard_A2_v2",), announced_on=date(2023, 11, 1), source="feed",
        urls=("https://example.invalid/a",), replacement_series=("Dasv5",), region_exceptions=("china",),
        notes="n", modified=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    return factories.finding(
        "vm#1?x", kind=ResourceKind.VM, sub=SUB.upper(), rg="RG-1",
        tags={"owner": "tëam/a", "retirement-scanner:ignore-until": "2026-04-01"},
        severity=Severity.HIGH, size="Standard_A2_v2", retirement=ret, days_left=259,
        replacement="Standard_D2as_v5", why="why", alternatives=("Standard_D2s_v5",),
        commands=commands, restricted=True, message="m", status=Status.SUPPRESSED, first_seen=T0,
        suppressed_until=date(2026, 4, 1), suppression_reason="tag",
    )


@pytest.mark.parametrize(
    "state,resolved_at,until",
    [
        pytest.param(OPEN, None, None, id="open"),
        pytest.param(RESOLVED, datetime(2026, 3, 5, tzinfo=timezone.utc), None, id="resolved"),
        pytest.param(OPEN, None, date(2026, 4, 1), id="suppressed"),
    ],
)
def test_record_round_trips_through_entity(state, resolved_at, until):
    rec = Record(full_finding(), state, T0, T0, resolved_at, until, "tag" if until else "")
    entity = to_entity(rec)
    assert entity["PartitionKey"] == SUB.lower() == partition_key(rec.finding)
    assert entity["RowKey"] == rec.finding.id
    assert all(c not in entity["RowKey"] for c in "/\\#?")
    assert from_entity(entity) == rec


def test_commands_over_64_kib_are_compressed_and_split_not_cut():
    # 200 distinct long commands: ~100 KB of JSON that zlib cannot shrink to one property.
    import random

    rnd = random.Random(7)
    noise = ["".join(rnd.choice("abcdefghij0123456789") for _ in range(700)) for _ in range(200)]
    cmds = tuple(f"az vm resize --name vm{i} --size {n}" for i, n in enumerate(noise))
    rec = Record(full_finding(cmds), OPEN, T0, T0)
    entity = to_entity(rec)
    assert entity["BodyEncoding"] == "zlib+base64" and entity["BodyParts"] >= 2
    assert all(len(v) <= PART_CHARS for v in entity.values() if isinstance(v, str))
    back = from_entity(entity)
    assert back.finding.commands == cmds


def test_text_too_big_for_an_entity_is_refused_with_its_name():
    import os

    blob = os.urandom(MAX_PARTS * PART_CHARS).hex()  # incompressible
    with pytest.raises(StoreError, match=r"finding abc: Body .* not stored \(nothing was cut\)"):
        pack_text("Body", blob, "finding abc")


@pytest.mark.parametrize("text", ["", "short", "x" * PART_CHARS, "é" * (PART_CHARS + 1)],
                         ids=["empty", "short", "exactly-one-part", "non-ascii-over"])
def test_pack_unpack(text):
    assert unpack_text(pack_text("B", text), "B") == text


def test_missing_part_names_the_property():
    entity = pack_text("Body", json.dumps(["y" * 100_000, list(range(20000))]), "x")
    entity.pop("Body1")
    with pytest.raises(StoreError, match="finding 9: property Body1 is missing"):
        unpack_text(entity, "Body", "finding 9")


def test_unreadable_body_names_the_finding():
    entity = to_entity(Record(full_finding(), OPEN, T0, T0))
    entity["Body"] = json.dumps({"severity": "catastrophic"})
    with pytest.raises(StoreError, match=r"finding [0-9a-f]+ \(table entity\).*not readable"):
        from_entity(entity)


def test_run_round_trip():
    run = {"run_id": "r1", "source": "scan", "started": T0, "finished": T0, "duration_seconds": 1.5,
           "findings": 3, "changes": {"new": 3}, "open": {"high": 3, "suppressed": 0}, "writes": 3,
           "lost": 0, "transactions": 1, "scopes_seen": [SUB], "scopes_failed": ["x"], "errors": ["e"],
           "warnings": []}
    assert run_from_entity(run_to_entity(run)) == run


def _run(day, hour, open_, **changes):
    return {"started": datetime(2026, 3, day, hour, tzinfo=timezone.utc), "open": open_, "changes": changes}


def test_history_takes_the_days_last_run_carries_forward_and_sums_changes():
    runs = [
        _run(1, 2, {"high": 5}, new=5),
        _run(3, 2, {"high": 4, "medium": 1, "suppressed": 1}, new=1, resolved=1),
        _run(3, 14, {"high": 3, "medium": 1}, resolved=1),
        _run(10, 2, {"high": 0}, resolved=4),  # after the window
    ]
    rows = history_from_runs(runs, 4, date(2026, 3, 4))
    assert [r["date"] for r in rows] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert [r["open_total"] for r in rows] == [5, 5, 4, 4]
    assert [r["resolved"] for r in rows] == [0, 0, 2, 0]
    assert [r["runs"] for r in rows] == [1, 0, 2, 0]
    assert rows[2]["open"]["medium"] == 1 and rows[2]["suppressed"] == 0


def test_history_before_any_run_is_unknown_not_zero():
    rows = history_from_runs([_run(3, 2, {"low": 2}, new=2)], 3, date(2026, 3, 3))
    assert rows[0]["open"] is None and rows[2]["open_total"] == 2


def test_status_is_kept_in_the_body():
    rec = Record(replace(full_finding(), status=Status.OPEN), OPEN, T0, T0)
    assert from_entity(to_entity(rec)).finding.status is Status.OPEN


def test_a_write_whose_connection_dropped_is_sent_again_and_other_errors_are_not(monkeypatch):
    from azure.core.exceptions import HttpResponseError, ServiceResponseError

    from scanner.tables import kit as store

    monkeypatch.setattr(store.time, "sleep", lambda s: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ServiceResponseError("('Connection aborted.', ConnectionResetError(104))")
        return "sent"

    assert store.resend_on_dropped_connection(flaky) == "sent" and len(calls) == 3

    calls.clear()

    def always_dropped():
        calls.append(1)
        raise ServiceResponseError("reset")

    with pytest.raises(ServiceResponseError):
        store.resend_on_dropped_connection(always_dropped)
    assert len(calls) == store.CONNECTION_RESENDS

    calls.clear()

    def refused():
        calls.append(1)
        raise HttpResponseError("409 conflict")

    with pytest.raises(HttpResponseError):
        store.resend_on_dropped_connection(refused)
    assert len(calls) == 1  # an answer from the server is not a dropped connection
