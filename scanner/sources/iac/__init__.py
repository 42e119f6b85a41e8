"""Infrastructure-as-code sources: read Terraform, Bicep and ARM files into Declarations.

    load(paths, var_files=(), param_files=(), cwd=None) -> Templates

This is the I/O edge: it finds and reads files, then hands their text to the pure parsers
(terraform.py, bicep.py, arm.py). A path that does not exist is bad usage (InputError, exit 2
before anything is read). A file that cannot be read or parsed becomes a Problem naming the
file, line and column, and the others are still read.

What is read:
- a directory: every `.tf` (one Terraform module per directory), `.bicep`, and `.json` that is
  an ARM deployment template, below it (`.terraform`, `.git`, `node_modules` and hidden folders
  skipped); `terraform.tfvars` and `*.auto.tfvars` of a root module, as Terraform loads them
  (https://developer.hashicorp.com/terraform/language/values/variables#variable-definitions-tfvars-files).
- a file: by its suffix; `.tfvars`, `.bicepparam` and ARM parameter files (`$schema`
  deploymentParameters) are values, the same as `--var-file` / `--params`.
- modules with a local path (`source = "./modules/vm"`, `module x './vm.bicep'`) are followed
  and read even outside the paths given; such a module is evaluated with its caller's arguments,
  not on its own. Registry and git modules are not read.
- `.tfvars` values apply to every root Terraform module; a `.bicepparam` file to the template
  its `using` names; ARM parameter files to every ARM template (by parameter name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from scanner.core.iac import Declaration, Problem, Spot, Templates
from scanner.errors import InputError
from scanner.sources.iac import arm, bicep, terraform

SKIP_DIRS = {".terraform", ".git", "node_modules", ".venv", "__pycache__"}
MAX_FILE_BYTES = 5 * 1024 * 1024


class _Reader:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.problems: list[Problem] = []
        self.files: list[str] = []

    def name(self, path: Path) -> str:
        """The path as reports show it: relative to the working directory when below it."""
        try:
            return path.resolve().relative_to(self.cwd).as_posix()
        except ValueError:
            return path.resolve().as_posix()

    def read(self, path: Path) -> str | None:
        name = self.name(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self.problems.append(Problem(Spot(name, 1, 1), f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: not read"))
                return None
            data = path.read_bytes()
        except OSError as exc:
            self.problems.append(Problem(Spot(name, 1, 1), f"cannot be read ({exc.strerror or exc})"))
            return None
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            self.problems.append(Problem(Spot(name, line, 1), "not UTF-8 text"))
            return None
        self.files.append(name)
        return text


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 with its BOM: what Windows PowerShell 5 writes for
    `az group export ... > template.json`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _walk(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames))
    return out


def load(paths: Sequence[str], var_files: Sequence[str] = (), param_files: Sequence[str] = (),
         cwd: str | None = None) -> Templates:
    base = Path(cwd or os.getcwd()).resolve()
    reader = _Reader(base)
    tf_files: list[Path] = []
    auto_tfvars: list[Path] = []
    bicep_files: list[Path] = []
    json_files: list[tuple[Path, bool]] = []  # (path, given explicitly)
    values: list[Path] = [Path(p) for p in (*var_files, *param_files)]
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError(f"scan-iac: {raw!r} does not exist")
        candidates = _walk(p) if p.is_dir() else [p]
        for f in candidates:
            name = f.name.lower()
            if name.endswith(".tf"):
                tf_files.append(f)
            elif name.endswith(".bicep"):
                bicep_files.append(f)
            elif name.endswith((".tfvars", ".tfvars.json", ".bicepparam")):
                if not p.is_dir():
                    values.append(f)
                elif name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars",
                                                                                             ".auto.tfvars.json")):
                    auto_tfvars.append(f)
            elif name.endswith(".tf.json"):  # Terraform's JSON syntax (CDK for Terraform writes it)
                reader.problems.append(Problem(Spot(reader.name(f), 1, 1), "Terraform JSON syntax (.tf.json) is not "
                                               "read by scan-iac: the sizes it declares are not checked"))
            elif name.endswith(".json"):
                json_files.append((f, not p.is_dir()))
            elif not p.is_dir():
                raise InputError(f"scan-iac: {raw!r} is not a .tf, .tfvars, .bicep, .bicepparam or .json file")
    for v in values:
        if not v.exists():
            raise InputError(f"scan-iac: {str(v)!r} does not exist")

    declarations: list[Declaration] = []
    tfvars = [v for v in values if v.name.lower().endswith((".tfvars", ".tfvars.json"))]
    declarations += _terraform(reader, tf_files, auto_tfvars, tfvars)
    arm_declarations, json_params = _arm(reader, json_files, [v for v in values if v.name.lower().endswith(".json")
                                                              and v not in tfvars])
    declarations += _bicep(reader, bicep_files, [v for v in values if v.name.lower().endswith(".bicepparam")],
                           json_params)
    declarations += arm_declarations
    return Templates(tuple(declarations), tuple(sorted(reader.problems, key=lambda p: p.spot)),
                     tuple(dict.fromkeys(reader.files)))


# --------------------------------------------------------------------------- Terraform


def _terraform(reader: _Reader, tf_files: list[Path], auto: list[Path], var_files: list[Path]) -> list[Declaration]:
    if not tf_files and not var_files:
        return []
    modules: dict[str, terraform.TfModule] = {}

    def load_dir(directory: Path, files: list[Path] | None = None) -> str:
        key = reader.name(directory)
        if key in modules:
            return key
        module = modules[key] = terraform.TfModule(key, [])
        for f in files if files is not None else sorted(directory.glob("*.tf")):
            text = reader.read(f)
            if text is None:
                continue
            try:
                module.files.append(terraform.parse_file(text, reader.name(f)))
            except terraform.TfSyntaxError as exc:
                reader.problems.append(Problem(exc.spot, exc.message))
        return key

    by_dir: dict[Path, list[Path]] = {}
    for f in tf_files:
        by_dir.setdefault(f.resolve().parent, []).append(f)
    given = [load_dir(d, sorted(fs)) for d, fs in sorted(by_dir.items())]
    # Follow local module sources (I/O here, so the evaluation stays pure).
    called: set[str] = set()
    queue = list(given)
    while queue:
        key = queue.pop()
        module = modules[key]
        directory = (reader.cwd / key) if not Path(key).is_absolute() else Path(key)
        for block in module.blocks("module"):
            src = block.attrs.get("source")
            source = terraform._literal(src, terraform._Env(module, {}, None, "")) if src else None
            if not isinstance(source, str) or not source.startswith(("./", "../")):
                continue
            child = (directory / source).resolve()
            if not child.is_dir():
                reader.problems.append(Problem(src.spot, f"module {block.labels[0] if block.labels else ''!r}: "
                                                         f"{source!r} is not a directory"))
                continue
            child_key = load_dir(child)
            called.add(child_key)
            if child_key not in queue and child_key not in given:
                queue.append(child_key)
    roots = [k for k in given if k not in called]
    tfvars: dict[str, terraform._Var] = {}
    for f in [a for a in auto if reader.name(a.resolve().parent) in roots] + var_files:
        text = reader.read(f)
        if text is None:
            continue
        if f.name.lower().endswith(".json"):  # the JSON form: {"name": value, ...}
            try:
                node = arm.parse_json(text, reader.name(f))
            except arm.JsonSyntaxError as exc:
                reader.problems.append(Problem(exc.spot, exc.message))
                continue
            found, problems = terraform.tfvars_from_json(node, reader.name(f))
            reader.problems.extend(problems)
            tfvars.update(found)
            continue
        try:
            parsed = terraform.parse_file(text, reader.name(f))
        except terraform.TfSyntaxError as exc:
            reader.problems.append(Problem(exc.spot, exc.message))
            continue
        found, problems = terraform.parse_tfvars(parsed)
        reader.problems.extend(problems)
        tfvars.update(found)
    out, problems = terraform.declarations(modules, roots, tfvars)
    reader.problems.extend(problems)
    return out


# --------------------------------------------------------------------------- Bicep


def _bicep(reader: _Reader, files: list[Path], param_files: list[Path],
           json_params: dict[str, arm.Var] | None = None) -> list[Declaration]:
    if not files and not param_files:
        return []
    parsed: dict[str, bicep.BicepFile] = {}

    def load(path: Path) -> str:
        key = reader.name(path)
        if key in parsed:
            return key
        text = reader.read(path)
        if text is None:
            return key
        try:
            parsed[key] = bicep.parse_file(text, key)
        except bicep.BicepSyntaxError as exc:
            reader.problems.append(Problem(exc.spot, exc.message))
        return key

    # A .bicepparam names its template (`using './main.bicep'`): that template is read too, as a
    # root, when it was not among the paths (`scan-iac prod.bicepparam` alone).
    for f in param_files:
        try:
            m = re.search(r"^\s*using\s+'([^']+\.bicep)'", f.read_text(encoding="utf-8-sig", errors="replace"), re.M)
        except OSError:
            m = None
        target = (f.resolve().parent / m[1]).resolve() if m else None
        if target is not None and target.is_file() and all(x.resolve() != target for x in files):
            files = [*files, target]
    given = list(dict.fromkeys(load(f) for f in sorted(files)))
    called: set[str] = set()
    queue = [k for k in given if k in parsed]
    while queue:
        key = queue.pop()
        for _symbol, path, _body, spot in parsed[key].modules:
            if not path.endswith(".bicep") or ":" in path:
                continue
            child = (reader.cwd / key).parent / path if not Path(key).is_absolute() else Path(key).parent / path
            if not child.is_file():
                reader.problems.append(Problem(spot, f"module path {path!r} is not a file"))
                continue
            child_key = load(child.resolve())
            called.add(child_key)
            if child_key in parsed and child_key not in given and child_key not in queue:
                queue.append(child_key)
    # Module paths are joined as text by the evaluator: key the parsed files the same way.
    roots = [k for k in given if k in parsed and k not in called]
    values: dict[str, dict[str, bicep.Param]] = {}
    for f in param_files:
        text = reader.read(f)
        if text is None:
            continue
        name = reader.name(f)
        using, found, problems = bicep.parse_bicepparam(text, name)
        reader.problems.extend(problems)
        target = reader.name(f.resolve().parent / using) if using else ""
        if target not in roots:
            reader.problems.append(Problem(Spot(name, 1, 1), f"`using {using!r}` names {target or 'no template'}, "
                                                              "which is not a scanned Bicep template"))
            continue
        values.setdefault(target, {}).update(found)
    # JSON parameter files (`az deployment group create -f main.bicep -p main.parameters.json`) apply to
    # every root template by parameter name, as to ARM templates; a .bicepparam value wins.
    for root in roots:
        for name in parsed[root].params:
            var = (json_params or {}).get(name.lower())
            if var is not None and name not in values.get(root, {}):
                values.setdefault(root, {})[name] = bicep.param_from_json(var)
    out, problems = bicep.declarations(parsed, roots, values)
    reader.problems.extend(problems)
    return out


# --------------------------------------------------------------------------- ARM JSON


def _arm(reader: _Reader, json_files: list[tuple[Path, bool]],
         param_files: list[Path]) -> tuple[list[Declaration], dict[str, arm.Var]]:
    templates: list[tuple[str, arm.Node]] = []
    given: dict[str, arm.Var] = {}
    for f, explicit in json_files:
        text = _peek(f)
        if text is None and not explicit:
            continue
        low = (text or "").lower()  # also subscription-/managementGroup-/tenantDeploymentTemplate
        if not explicit and "deploymenttemplate" not in low and "deploymentparameters" not in low:
            continue  # some other JSON (package.json, settings): not an ARM file
        node = _parse_json(reader, f)
        if node is None:
            continue
        if arm.is_parameter_file(node):
            if explicit:
                found, problems = arm.parameter_values(node, reader.name(f))
                reader.problems.extend(problems)
                given.update(found)
            continue  # a parameter file in a folder applies only when named (--params)
        if arm.is_template(node):
            templates.append((reader.name(f), node))
        elif explicit:
            reader.problems.append(Problem(node.spot, "neither an ARM deployment template nor a parameter file"))
    for f in param_files:
        node = _parse_json(reader, f)
        if node is None:
            continue
        if not arm.is_parameter_file(node):
            reader.problems.append(Problem(node.spot, "not an ARM parameter file ($schema deploymentParameters)"))
            continue
        found, problems = arm.parameter_values(node, reader.name(f))
        reader.problems.extend(problems)
        given.update(found)
    out: list[Declaration] = []
    for name, node in templates:
        found, problems = arm.declarations(node, name, given)
        out.extend(found)
        reader.problems.extend(problems)
    return out, given


def _peek(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return head.decode("utf-16", "replace")
        return head.decode("utf-8", "replace")
    except OSError:
        return None


def _parse_json(reader: _Reader, path: Path) -> arm.Node | None:
    text = reader.read(path)
    if text is None:
        return None
    try:
        return arm.parse_json(text, reader.name(path))
    except arm.JsonSyntaxError as exc:
        reader.problems.append(Problem(exc.spot, exc.message))
        return None
