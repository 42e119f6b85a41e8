"""The layering of docs/ARCHITECTURE.md, read from the imports of every module (function-level
imports included): the core stays pure, notifiers render and transport, and no two rooms
import each other. Rules are by package, so a new module in any room is checked as it lands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("scanner", "notifiers", "triggers")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """module -> the absolute module names it imports."""
    out: dict[str, set[str]] = {}
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            name = _module_name(path)
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            found: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package.split(".")[: len(package.split(".")) - node.level + 1]
                        mod = ".".join(base + ([node.module] if node.module else []))
                    else:
                        mod = node.module or ""
                    found.add(mod)
                    found.update(f"{mod}.{a.name}" for a in node.names)
            out[name] = found
    return out


IMPORTS = _imports()


def _room(module: str) -> str:
    """The package a module belongs to for the cycle rule: scanner.<sub> for subpackages,
    the module itself for scanner's top-level modules, the top package otherwise."""
    parts = module.split(".")
    return f"scanner.{parts[1]}" if parts[0] == "scanner" and len(parts) >= 2 else parts[0]


def _starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _offences(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} imports {i}" for m, found in IMPORTS.items() if _starts(m, importers)
                  for i in found if _starts(i, forbidden))


def test_the_modules_are_found():
    assert {"scanner.core.lifecycle", "scanner.tables.kit", "notifiers.render", "scanner.service"} <= set(IMPORTS)


@pytest.mark.parametrize(("importers", "forbidden"), [
    pytest.param(("scanner.core",), ("scanner.tables", "scanner.sources", "scanner.cli", "scanner.service",
                                     "scanner.bootstrap", "scanner.notify", "notifiers", "azure", "requests"),
                 id="core-is-pure"),
    pytest.param(("notifiers",), ("scanner.tables", "scanner.bootstrap"), id="notifiers-render-and-send"),
    pytest.param(("notifiers.render",), ("notifiers.teams", "notifiers.mail", "notifiers.filechannel", "azure",
                                         "requests", "smtplib"), id="render-is-pure"),
    pytest.param(("scanner.tables",), ("scanner.bootstrap", "scanner.service", "scanner.sources", "scanner.cli",
                                       "scanner.api", "scanner.jobs", "notifiers.teams", "notifiers.mail"),
                 id="tables-only-read-and-write"),
    pytest.param(("scanner.service", "scanner.ports"), ("scanner.tables", "scanner.bootstrap", "azure"),
                 id="service-depends-on-ports"),
    pytest.param(("scanner.core", "scanner.sources", "scanner.tables", "notifiers", "scanner.service",
                  "scanner.ports", "scanner.notify", "scanner.api", "scanner.jobs", "scanner.feed_ingest"),
                 ("scanner.bootstrap",), id="only-entry-points-reach-the-composition-root"),
])
def test_a_room_imports_nothing_from_the_rooms_it_must_not(importers, forbidden):
    assert _offences(importers, forbidden) == []


def test_only_tables_import_the_storage_sdks():
    sdk = ("azure.data.tables", "azure.storage.queue")
    assert [o for o in _offences(ROOMS, sdk) if not o.startswith("scanner.tables")] == []


# Developer scripts (README images, card previews, the Azurite launcher) drive the product from
# outside, the way a person would; they are not a room of the flow, so they may use the demo.
OUTSIDE_THE_FLOW = ("scanner.devtools",)


def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for module, found in IMPORTS.items():
        if _starts(module, OUTSIDE_THE_FLOW):
            continue
        src = _room(module)
        for target in found:
            known = target if target in IMPORTS else target.rpartition(".")[0]
            if known in IMPORTS:
                dst = _room(known)
                if dst != src:
                    graph.setdefault(src, set()).add(dst)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    found = [" -> ".join(c) for c in cycles]
    assert found == [], "\n".join(found)


def test_the_architecture_page_names_every_module():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for module in IMPORTS:
        leaf = module.rpartition(".")[2]
        if leaf in ROOMS or module.endswith("__init__") or (ROOT / Path(*module.split("."))).is_dir():
            continue  # a package: named by its folder
        if f"{leaf}.py" not in page and f"{leaf}/" not in page:
            missing.append(module)
    assert missing == [], f"docs/ARCHITECTURE.md does not name {missing}: add a line for each under its room"
