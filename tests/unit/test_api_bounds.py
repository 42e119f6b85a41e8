"""The findings query's Table filter: any accepted query stays within Table Storage's 15
comparisons, and what the server filter leaves out is checked in memory (property tests, pure;
the same queries run against Azurite in tests/faults/test_edge_faults.py)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import api
from scanner.core.model import (
    Finding,
    ResourceKind,
    ResourceRef,
    Retirement,
    Rule,
    Severity,
    Status,
    finding_id,
)

SUBS = [f"{i:08x}-2222-4222-8222-{i:012x}" for i in range(1, 61)]
RET = Retirement(id="av2", title="Av2", retires_on=date(2028, 11, 15), series=("Av2",))


def finding(i: int) -> Finding:
    sub = SUBS[i % len(SUBS)]
    rid = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm{i}"
    rule = list(Rule)[i % len(Rule)]
    return Finding(id=finding_id(rid, "", rule.value, RET.id), rule=rule, severity=list(Severity)[i % len(Severity)],
                   vm_size=["Standard_A2_v2", "Standard_D2_v2"][i % 2], retirement=RET, status=Status.OPEN,
                   resource=ResourceRef(ResourceKind.VM, rid, f"vm{i}", sub, "rg", "westeurope"))


QUERIES = st.fixed_dictionaries({}, optional={
    "severity": st.lists(st.sampled_from([s.value for s in Severity]), min_size=1, unique=True).map(",".join),
    "rule": st.lists(st.sampled_from([r.value for r in Rule]), min_size=1, unique=True).map(",".join),
    "subscription": st.lists(st.sampled_from(SUBS), min_size=1, max_size=50, unique=True).map(",".join),
    "cluster": st.lists(st.integers(0, 200), min_size=1, max_size=50, unique=True).map(
        lambda ns: ",".join(finding(n).resource.id for n in ns)),
    "status": st.sampled_from(["open", "resolved", "all", "active", "new,open"]),
})


@settings(max_examples=200)
@given(QUERIES, st.booleans())
def test_any_accepted_findings_query_stays_within_15_comparisons(query, paged):
    q = api.parse_findings_query(query)
    if paged:
        q = api.parse_findings_query({**query, "continuation": api.encode_continuation(q, SUBS[3], "f" * 32)})
    flt, params = q.server_filter()
    comparisons = flt.count(" eq ") + flt.count(" gt ")
    assert comparisons <= api.MAX_FILTER_COMPARISONS, flt
    assert {f"@{k}" for k in params} <= set(flt.replace("(", " ").replace(")", " ").split())


@settings(max_examples=100)
@given(QUERIES)
def test_in_memory_check_applies_every_filter(query):
    q = api.parse_findings_query(query)
    for i in range(0, 200, 7):
        f = finding(i)
        expected = (
            (not q.severities or f.severity.value in q.severities)
            and (not q.rules or f.rule.value in q.rules)
            and (not q.subscriptions or f.resource.subscription_id in q.subscriptions)
            and (not q.clusters or f.resource.id.lower() in q.clusters)
            and f.status.value in q.statuses
        )
        assert q.matches(f) == expected
