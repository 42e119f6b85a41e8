"""The distribution installs and runs outside the repository: `pip wheel .`, then `pip install` of
that wheel into a fresh virtual environment, then `aks-retire --version`, `aks-retire scan` on
the bundled samples and `aks-retire catalog` (package data) from a folder that is not the repo.

Offline and fast: the wheel is built with the shared venv's setuptools (--no-build-isolation,
--no-index), installed with --no-deps, and the fresh venv sees the shared venv's site-packages
for the dependencies only (a .pth line), never the repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import scanner
from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.integration

PACKAGES = ("scanner", "notifiers")


def _run(cmd, cwd, env=None, timeout=120):
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env=env)
    return out


def _source_files() -> list[str]:
    """What the wheel must carry: every file of the packages that git tracks (or, without git,
    that is on disk), Python or package data."""
    try:
        listed = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True,
                                timeout=30, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(ROOT)) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*") if p.is_file()]
    return sorted(p for p in listed if "__pycache__" not in p and (ROOT / p).exists())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "--disable-pip-version-check", "-q", "-w", dist, src], cwd=tmp)
    assert built.returncode == 0, f"pip wheel failed (pip install -r requirements-dev.txt?):\n{built.stderr}"
    (wheel,) = dist.glob("*.whl")

    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout.strip())
    # The dependencies come from the shared venv; the repository is never on the path.
    (site / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    inst = _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index",
                 "--disable-pip-version-check", "-q", wheel], cwd=tmp)
    assert inst.returncode == 0, inst.stderr
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"}
    work = tmp / "elsewhere"
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "env": env, "cwd": work}


def test_the_wheel_carries_every_module_and_data_file(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    missing = [p for p in _source_files() if p not in names]
    assert not missing, (f"{len(missing)} file(s) of the packages are not in the wheel: {missing[:5]} "
                         "(add a package-data pattern to pyproject.toml, or an __init__.py)")
    assert not [n for n in names if n.startswith(("tests/", "triggers/", "function_app"))]
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "aks-retire = scanner.cli:main" in zipfile.ZipFile(installed["wheel"]).read(entry).decode()


def test_aks_retire_version_runs_from_the_installed_package(installed):
    out = _run(["aks-retire", "--version"], cwd=installed["cwd"], env=installed["env"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"aks-retirement-scanner {scanner.__version__}"
    where = _run([installed["venv"] / "bin" / "python", "-c", "import scanner; print(scanner.__file__)"],
                 cwd=installed["cwd"], env=installed["env"])
    assert where.stdout.strip().startswith(str(installed["venv"])), where.stdout + where.stderr


def test_aks_retire_scan_on_the_samples_matches_the_golden_findings(installed):
    out = _run(["aks-retire", "scan", "--inventory", ROOT / "samples" / "inventory", "--skus",
                ROOT / "samples" / "skus", "--quotas", ROOT / "samples" / "quotas", "--today", "2026-09-10", "--format", "json", "--no-store",
                "--no-notify"], cwd=installed["cwd"], env=installed["env"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    golden = json.loads((FIXTURES / "golden" / "sample_scan.json").read_text(encoding="utf-8"))
    assert sorted(f["id"] for f in doc["findings"]) == sorted(f["id"] for f in golden["findings"])
    # The console script names itself in its usage line.
    usage = _run(["aks-retire", "scan", "--format", "nope"], cwd=installed["cwd"], env=installed["env"])
    assert usage.returncode == 2 and usage.stderr.startswith("usage: aks-retire scan")


def test_aks_retire_scan_iac_runs_from_the_installed_package(installed):
    """The installed command reads Terraform, Bicep and ARM (python-hcl2 and pycep-parser come with it)."""
    iac = FIXTURES / "iac"
    out = _run(["aks-retire", "scan-iac", iac / "terraform" / "modules" / "vm", iac / "bicep", iac / "arm" / "export.json",
                "--today", "2026-03-01", "--format", "sarif"], cwd=installed["cwd"], env=installed["env"])
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["runs"][0]["results"]
    sizes = {r.get("properties", {}).get("vmSize") for r in results}
    assert {"Standard_B2ms", "Standard_E8s_v3", "Standard_B4ms", "Standard_DS1_v2"} <= sizes


def test_package_data_is_read_from_the_install(installed):
    py = installed["venv"] / "bin" / "python"
    cat = _run(["aks-retire", "catalog", "--format", "json"], cwd=installed["cwd"], env=installed["env"])
    assert cat.returncode == 0, cat.stderr
    assert len(json.loads(cat.stdout)["retirements"]) >= 20
    kql = _run([py, "-c", "from scanner.sources.resource_graph import load_query; print(load_query('clusters'))"],
               cwd=installed["cwd"], env=installed["env"])
    assert "managedclusters" in kql.stdout, kql.stderr
    tpl = _run([py, "-c", "from notifiers.render import _jinja; print(_jinja().list_templates())"],
               cwd=installed["cwd"], env=installed["env"])
    assert "digest.txt.j2" in tpl.stdout, tpl.stderr


def test_pyproject_dependencies_match_requirements_txt():
    """pipx/pip installs what the Function App pins (minus azure-functions, the host's own)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    declared = {}
    for d in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([\d.]+),<(\d+)", d)
        assert m, f"pyproject dependency {d!r}: write NAME>=PINNED,<NEXT_MAJOR"
        declared[m.group(1).lower()] = m.group(2)
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pinned[name.strip().lower()] = version.strip()
    pinned.pop("azure-functions")
    assert declared == pinned

