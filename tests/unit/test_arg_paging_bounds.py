"""Resource Graph paging is bounded by what the rows could need (resource_graph.ArgSession.pages).

The wire faults (repeated token, truncated result, resets, HTML) run against the fake ARM in
tests/faults/test_arg_faults.py; this is the one bound a fake over HTTP cannot reach cheaply: a
service that keeps sending new tokens past `totalRecords`."""

from __future__ import annotations

import itertools

import pytest

from scanner.sources.arm import ArmPagingError
from scanner.sources.resource_graph import ArgSession


class EndlessGraph:
    """An ArmJson stand-in answering every page with 1000 rows, a fresh $skipToken and totalRecords."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.posts = 0
        self._tokens = itertools.count(1)

    def post(self, url, body, kind, *, scope="", throttle=None):
        throttle.before()
        self.posts += 1
        page = {"data": [{"id": f"r{self.posts}-{i}"} for i in range(1000)], "$skipToken": f"t{next(self._tokens)}",
                "resultTruncated": "false"}
        if self.total is not None:
            page["totalRecords"] = self.total
        return page


@pytest.mark.parametrize("total, pages", [(1500, 3), (0, 1), (10_000, 11)])
def test_more_pages_than_total_records_need_stops_naming_the_query(total, pages):
    graph = EndlessGraph(total)
    session = ArgSession(graph, sleep=lambda s: None)

    with pytest.raises(ArmPagingError, match=r"Resource Graph clusters query over 2 subscription\(s\): more than"):
        for _rows in session.pages("resources", ["a", "b"], "clusters"):
            pass

    assert graph.posts == pages


def test_without_total_records_the_hard_cap_still_holds(monkeypatch):
    monkeypatch.setattr("scanner.sources.resource_graph.ARG_MAX_PAGES", 7)
    graph = EndlessGraph(None)

    with pytest.raises(ArmPagingError):
        list(ArgSession(graph, sleep=lambda s: None).pages("resources", ["a"], "vms"))

    assert graph.posts == 7
