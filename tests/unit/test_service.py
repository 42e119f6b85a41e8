"""The service over in-memory ports: what is stored and told, night by night (no Azurite)."""

from __future__ import annotations

import pytest

from scanner.core.lifecycle import RESOLVED
from scanner.core.model import ScopeError, ScopeKind
from tests.fakes.nights import INVENTORY, Tenant, without_cluster
from tests.fakes.ports import Crash

GONE = "aks-ml-weu"  # one cluster (subscription ...e02, westeurope) whose pool is fixed on night 2


def gone_ids(report) -> set[str]:
    return {f.id for f in report.findings if f.resource.name == GONE}


def test_a_fixed_pool_is_resolved_and_told_once():
    t = Tenant()
    first = t.night()
    ids = gone_ids(first)
    assert ids and len(t.notifier.outbox) == 1 and set(t.told("new")) >= ids
    second = t.night(inventory=without_cluster(INVENTORY, GONE))
    assert {c.finding.id for c in second.changes if c.kind == "resolved"} == ids
    assert sorted(t.told("resolved")) == sorted(ids)
    assert not any(r.tell_pending for r in t.repo.records.values())  # the outbox has it: duty done
    t.night(inventory=without_cluster(INVENTORY, GONE))
    assert sorted(t.told("resolved")) == sorted(ids) and len(t.notifier.outbox) == 2


def test_a_run_dying_after_the_store_write_tells_the_resolution_on_the_next_run_once():
    t = Tenant()
    ids = gone_ids(t.night())
    t.notifier.fail_before_record = True
    with pytest.raises(Crash):
        t.night(inventory=without_cluster(INVENTORY, GONE))
    assert {r.id for r in t.repo.records.values() if r.state == RESOLVED and r.tell_pending} == ids
    assert t.told("resolved") == []
    third = t.night(inventory=without_cluster(INVENTORY, GONE))
    assert [c for c in third.changes if c.kind == "resolved"] == []  # the resolution itself is old news
    assert sorted(t.told("resolved")) == sorted(ids)  # ...but it is told now
    t.night(inventory=without_cluster(INVENTORY, GONE))
    assert sorted(t.told("resolved")) == sorted(ids)  # and never again


def test_a_run_dying_after_recording_and_before_clearing_the_duty_tells_nothing_twice():
    t = Tenant()
    ids = gone_ids(t.night())

    def die(records):
        raise Crash("the run died before the duty to tell was cleared")

    t.repo.mark_told = die
    with pytest.raises(Crash):
        t.night(inventory=without_cluster(INVENTORY, GONE))
    del t.repo.mark_told
    assert sorted(t.told("resolved")) == sorted(ids)
    t.night(inventory=without_cluster(INVENTORY, GONE))
    assert sorted(t.told("resolved")) == sorted(ids)  # the told rows say it was told: not again
    assert not any(r.tell_pending for r in t.repo.records.values())


def test_a_dry_run_stores_and_tells_nothing():
    t = Tenant()
    t.night()
    preview = t.night(inventory=without_cluster(INVENTORY, GONE), dry_run=True)
    assert preview.messages and not any(r.state == RESOLVED for r in t.repo.records.values())
    assert t.told("resolved") == []


def _sub_and_region():
    c = next(c for c in INVENTORY.clusters if c.name == GONE)
    return c.subscription_id.lower(), c.location.lower()


@pytest.mark.parametrize("where", ["catalog_errors", "sku_errors"])
@pytest.mark.parametrize("error", [
    pytest.param(lambda sub, loc: ScopeError(ScopeKind.SUBSCRIPTION, subscription=sub,
                                             detail="Resource Graph answered resultTruncated without $skipToken"),
                 id="truncated-arg"),
    pytest.param(lambda sub, loc: ScopeError(ScopeKind.REGION_SKUS, subscription=sub, region=loc,
                                             detail="no SKU facts"), id="missing-region-skus"),
    pytest.param(lambda sub, loc: ScopeError(ScopeKind.TENANT, detail="management group listing failed"),
                 id="unknown-scope"),
])
def test_a_scope_not_read_completely_resolves_nothing_in_it(error, where):
    t = Tenant()
    ids = gone_ids(t.night())
    report = t.night(inventory=without_cluster(INVENTORY, GONE), **{where: (error(*_sub_and_region()),)})
    assert [c for c in report.changes if c.kind == "resolved"] == []
    assert {r.id for r in t.repo.records.values() if r.state == RESOLVED} == set()
    assert t.told("resolved") == [] and ids


def test_a_conflicting_write_is_re_planned_and_claimed_once():
    t = Tenant()
    first = t.night()
    ids = gone_ids(first)
    target = next(iter(ids))

    def other_run_resolves_it_first(repo):
        from dataclasses import replace

        rec = repo.records[target]
        repo.put(replace(rec, state=RESOLVED, resolved_at=rec.last_changed, tell_pending=True))

    t.repo.before_write = other_run_resolves_it_first
    second = t.night(inventory=without_cluster(INVENTORY, GONE))
    resolved_here = {c.finding.id for c in second.changes if c.kind == "resolved"}
    assert target not in resolved_here and resolved_here == ids - {target}
    run = max(t.runs.runs.values(), key=lambda r: r["started"])
    assert run["lost"] == 1
    assert sorted(t.told("resolved")) == sorted(ids)  # the other run's resolution is told too, once


def test_a_night_without_quota_checks_keeps_capacity_findings_open_and_tells_nothing():
    t = Tenant(night_no=300)  # nights after the restrictions began (2026-07-01)
    first = t.night(quotas=True)
    capacity = {f.id for f in first.findings if f.rule.value == "capacity-restricted"}
    assert capacity, "the sample tenant has a pool at its quota ceiling on a restricted series"
    second = t.night(quotas=False)  # e.g. an offline CLI scan of the same store without --quotas
    assert not [c for c in second.changes if c.kind == "resolved" and c.finding.id in capacity]
    assert not set(t.told("resolved")) & capacity
    assert {r.id for r in t.repo.records.values() if r.state != RESOLVED} >= capacity
    third = t.night(quotas=True)
    assert {f.id for f in third.findings if f.rule.value == "capacity-restricted"} == capacity
    assert not [c for c in third.changes if c.finding.id in capacity and c.kind != "unchanged"]  # none reopened
