"""SKU export files (`--skus`, SCAN_SKU_FILES) with mutated values: each one is either read or an
error naming the file and the SKU item (CLI exit 2), never a crash (issue 14). Mutations of the
real samples/skus exports, seeded so every run tries the same ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.errors import InputError
from scanner.sources.skus import load_sku_files

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples" / "skus").glob("*.json"))
INVENTORY = str(ROOT / "samples" / "inventory" / "vms.json")

# Values that are valid JSON but the wrong type or out of range somewhere in a SKU item.
VALUES = [None, 0, -1, 1.5, True, "", "x", "NaN", "inf", "1e999", "-4", [], {}, [1], {"a": 1}, [[[]]], [None], [{}]]


def _paths(o, p=()):
    yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _paths(v, (*p, i))


def _set(o, path, value):
    for k in path[:-1]:
        o = o[k]
    o[path[-1]] = value


def _mutants(n: int, seed: int = 14):
    rng = random.Random(seed)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in SAMPLES]
    for _ in range(n):
        items = json.loads(json.dumps(rng.sample(rng.choice(docs), 3)))
        target = rng.randrange(3)
        paths = [p for p in _paths(items[target]) if p]
        for _ in range(rng.randint(1, 3)):
            _set(items[target], rng.choice(paths), json.loads(json.dumps(rng.choice(VALUES))))
            paths = [p for p in _paths(items[target]) if p]
        yield items, target


def test_mutated_sku_files_are_read_or_named_never_a_crash(tmp_path, fault_ledger):
    f = tmp_path / "mutant-skus.json"
    named = read = crashed = unnamed = 0
    examples = []
    for items, target in _mutants(400):
        f.write_text(json.dumps(items), encoding="utf-8")
        try:
            load_sku_files([str(f)])
            read += 1
        except InputError as exc:
            if str(f) in str(exc) and f"SKU item {target}" in str(exc):
                named += 1
            else:
                unnamed += 1
                examples.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - what the test counts
            crashed += 1
            examples.append(f"{type(exc).__name__}: {exc}")
    fault_ledger.record("sku files: 400 mutated items (types, NaN, inf, negatives)", unexpected_exits=crashed)
    assert crashed == 0 and unnamed == 0, examples[:5]
    assert named > 150 and read > 20  # the mutations do reach the checks, and harmless ones still load


@pytest.mark.parametrize("field, value, says", [
    ("locations", 1.5, "field 'locations' is float, expected a list"),
    ("locationInfo", True, "field 'locationInfo' is bool, expected a list"),
    ("restrictions", [{"type": "Location", "values": 2.0}], "restrictions[0].values"),
    ("capabilities", [{"name": "vCPUs", "value": "1e999"}], "capability 'vCPUs' is '1e999'"),
    ("capabilities", [{"name": "MemoryGB", "value": "-4"}], "capability 'MemoryGB' is '-4'"),
    ("name", ["Standard_D2s_v3"], "field 'name' is list"),
])
def test_a_bad_value_is_exit_2_naming_the_file_and_the_item(tmp_path, capsys, field, value, says):
    items = json.loads(SAMPLES[0].read_text(encoding="utf-8"))[:3]
    name = items[1]["name"]
    items[1][field] = value
    bad = tmp_path / "bad-skus.json"
    bad.write_text(json.dumps(items), encoding="utf-8")

    code = main(["scan", "--inventory", INVENTORY, "--skus", str(bad), "--catalog", "builtin", "--feed", "",
                 "--no-store", "--no-notify", "--format", "json", "--today", "2026-06-01"])

    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err and "SKU item 1" in err and says in err
    if field != "name":
        assert name in err
