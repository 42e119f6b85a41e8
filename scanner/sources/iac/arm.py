"""ARM JSON templates and parameter files -> Declarations. Pure: text in, values out.

    parse_json(text, file) -> Node            JSON with the line and column of every value;
                                              raises JsonSyntaxError(spot, message)
    is_template(node) / is_parameter_file(node)
    parameter_values(node, file) -> dict[str, Var]   a deploymentParameters file's literal values
    declarations(node, file, given) -> (list[Declaration], list[Problem])

Template expressions resolved: `[parameters('x')]` (a parameter file's value, else the
parameter's defaultValue) and `[variables('x')]`; `[[...` is a literal starting with `[`. Any
other expression (concat(), resourceGroup().location, copy loops) is not literal and named.
Child resources (a `resources` array inside a resource) have their parent's type and name
prepended, as ARM does. Nested deployments (Microsoft.Resources/deployments) are not read.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

from scanner.core.iac import Declaration, Problem, Spot, Value
from scanner.core.model import ResourceKind
from scanner.sources.iac import arm_shape

# --------------------------------------------------------------------------- JSON with positions


@dataclass
class Node:
    value: Any  # dict[str, Node] | list[Node] | str | int | float | bool | None
    spot: Spot
    text: str = ""


class JsonSyntaxError(ValueError):
    def __init__(self, spot: Spot, message: str) -> None:
        super().__init__(f"{spot}: {message}")
        self.spot = spot
        self.message = message


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrtu])*")|(?P<num>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)'
                    r'|(?P<lit>true|false|null)|(?P<punct>[{}\[\]:,])|(?P<comment>//[^\n]*|/\*.*?\*/))', re.S)


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.pos = 0
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]

    def spot(self, pos: int) -> Spot:
        line = bisect.bisect_right(self.lines, pos)
        return Spot(self.file, line, pos - self.lines[line - 1] + 1)

    def fail(self, pos: int, message: str):
        raise JsonSyntaxError(self.spot(pos), message)

    def next(self):
        while True:
            m = _TOKEN.match(self.text, self.pos)
            if m is None:
                rest = self.text[self.pos:]
                stripped = len(rest) - len(rest.lstrip())
                if not rest.strip():
                    return None, "", len(self.text)
                self.fail(self.pos + stripped, f"not valid JSON: unexpected {rest.strip()[:12]!r}")
            self.pos = m.end()
            if m["comment"]:  # ARM templates may carry comments (the ARM tools accept them)
                continue
            kind = next(k for k in ("str", "num", "lit", "punct") if m[k] is not None)
            return kind, m[kind], m.start(kind)

    def value(self, token=None) -> Node:
        kind, tok, at = token or self.next()
        if kind is None:
            self.fail(at, "not valid JSON: unexpected end of file")
        spot = self.spot(at)
        if kind == "str":
            return Node(json.loads(tok), spot, tok)
        if kind == "num":
            return Node(float(tok) if any(c in tok for c in ".eE") else int(tok), spot, tok)
        if kind == "lit":
            return Node({"true": True, "false": False, "null": None}[tok], spot, tok)
        if tok == "{":
            out: dict[str, Node] = {}
            kind, tok, at = self.next()
            if tok == "}":
                return Node(out, spot)
            while True:
                if kind != "str":
                    self.fail(at, "not valid JSON: expected a property name in double quotes")
                key = json.loads(tok)
                kind, tok, at2 = self.next()
                if tok != ":":
                    self.fail(at2, f"not valid JSON: expected ':' after {key!r}")
                out[key] = self.value()
                kind, tok, at = self.next()
                if tok == "}":
                    return Node(out, spot)
                if tok != ",":
                    self.fail(at, "not valid JSON: expected ',' or '}'")
                kind, tok, at = self.next()
        if tok == "[":
            items: list[Node] = []
            token = self.next()
            if token[1] == "]":
                return Node(items, spot)
            while True:
                items.append(self.value(token))
                kind, tok, at = self.next()
                if tok == "]":
                    return Node(items, spot)
                if tok != ",":
                    self.fail(at, "not valid JSON: expected ',' or ']'")
                token = self.next()
        self.fail(at, f"not valid JSON: unexpected {tok!r}")


def parse_json(text: str, file: str) -> Node:
    reader = _Reader(text.lstrip("\ufeff"), file)
    node = reader.value()
    kind, tok, at = reader.next()
    if kind is not None:
        reader.fail(at, "not valid JSON: more after the end of the document")
    return node


def plain(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def _schema(node: Node) -> str:
    if not isinstance(node.value, dict):
        return ""
    s = node.value.get("$schema")
    return str(s.value).lower() if s is not None and isinstance(s.value, str) else ""


def is_template(node: Node) -> bool:
    return "deploymenttemplate" in _schema(node) or (
        isinstance(node.value, dict) and "resources" in node.value and "parameters" not in _schema(node)
        and isinstance(node.value["resources"].value, (list, dict)) and "contentVersion" in node.value)


def is_parameter_file(node: Node) -> bool:
    return "deploymentparameters" in _schema(node)


# --------------------------------------------------------------------------- values


@dataclass
class Var:
    known: bool
    node: Node | None = None  # the literal as written (structure keeps positions)
    via: str = ""
    reason: str = ""
    struct: Any = None  # already resolved (a nested deployment's parameter, evaluated by its parent)


def parameter_values(node: Node, file: str) -> tuple[dict[str, Var], list[Problem]]:
    out: dict[str, Var] = {}
    problems: list[Problem] = []
    params = node.value.get("parameters") if isinstance(node.value, dict) else None
    if params is None or not isinstance(params.value, dict):
        return out, [Problem(node.spot, "a parameter file without a \"parameters\" object")]
    for name, entry in params.value.items():
        if isinstance(entry.value, dict) and "value" in entry.value:
            out[name.lower()] = Var(True, entry.value["value"], f"{file}")
        elif isinstance(entry.value, dict) and "reference" in entry.value:
            out[name.lower()] = Var(False, reason=f"parameter {name} comes from a Key Vault reference in {file}")
        else:
            problems.append(Problem(entry.spot, f"parameter {name!r} has neither \"value\" nor \"reference\""))
    return out, problems


class _Unknown(Exception):
    pass


_EXPR_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_]\w*)|(?P<p>[(),.\[\]]))")


class _Expression:
    """The part of the ARM expression language whose result follows from the template itself:
    parameters(), variables(), concat(), format() with {n}, toLower(), toUpper(), string and
    integer literals, `.property` and `[index]`. Any other function is known only at deployment."""

    def __init__(self, text: str, env: _Env, node: Node) -> None:
        self.env, self.node, self.text = env, node, f"[{text}]"
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _EXPR_TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if not text[pos:].strip():
                    break
                raise _Unknown(f"an expression this scanner cannot read ({text[pos:pos + 20]!r})")
            kind = next(k for k in ("str", "num", "name", "p") if m[k] is not None)
            self.tokens.append((kind, m[kind]))
            pos = m.end()
        self.i = 0

    def evaluate(self) -> Any:
        value = self._expr()
        if self.i != len(self.tokens):
            raise _Unknown("an expression this scanner cannot read")
        return value

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("", "")

    def _take(self, text: str | None = None) -> tuple[str, str]:
        tok = self._peek()
        if not tok[0] or (text is not None and tok[1] != text):
            raise _Unknown("an expression this scanner cannot read")
        self.i += 1
        return tok

    def _expr(self) -> Any:
        kind, tok = self._take()
        if kind == "str":
            value: Any = self._lit(tok[1:-1].replace("''", "'"))
        elif kind == "num":
            value = self._lit(int(tok))
        elif kind == "name":
            self._take("(")
            args = []
            if self._peek()[1] != ")":
                args.append(self._expr())
                while self._peek()[1] == ",":
                    self._take(",")
                    args.append(self._expr())
            self._take(")")
            value = self._call(tok, args)
        else:
            raise _Unknown("an expression this scanner cannot read")
        while self._peek()[1] in (".", "["):
            if self._take()[1] == ".":
                key: Any = self._take()[1]
            else:
                index = self._expr()
                self._take("]")
                key = index.value if isinstance(index, Value) else None
            got = arm_shape.get(value, key) if isinstance(key, (str, int)) else None
            if got is None:
                raise _Unknown(f"{key!r} is not in the value")
            value = got
        return value

    def _lit(self, value: Any) -> Value:
        return Value(spot=self.node.spot, known=True, value=value, text=self.text)

    def _call(self, name: str, args: list) -> Any:
        low = name.lower()
        if low in ("parameters", "variables"):
            if len(args) != 1 or not isinstance(args[0], Value) or not isinstance(args[0].value, str):
                raise _Unknown(f"{name}() with an argument this scanner cannot read")
            get = self.env.parameter if low == "parameters" else self.env.variable
            return get(args[0].value, self.node, self.text)
        if low == "copyindex":
            loop = args[0].value if args and isinstance(args[0], Value) and isinstance(args[0].value, str) else ""
            offset = [a for a in args if isinstance(a, Value) and isinstance(a.value, int)]
            if loop.lower() not in self.env.copy_index:
                raise _Unknown(f"copyIndex({loop!r}) outside a copy loop whose count is literal" if loop else
                               "copyIndex() outside a copy loop whose count is literal")
            return self._lit(self.env.copy_index[loop.lower()] + (offset[0].value if offset else 0))
        if low == "length" and len(args) == 1:
            arg = args[0]
            if isinstance(arg, (list, dict)):
                return self._lit(len(arg))
            value = self._known(arg)
            if isinstance(value, (list, dict, str)):
                return self._lit(len(value))
        values = [self._known(a) for a in args]
        if low == "concat" and values:
            if all(isinstance(v, list) for v in values):
                return self._lit([x for v in values for x in v])
            return self._lit("".join(_text(v) for v in values))
        if low == "format" and values:
            return self._lit(re.sub(r"\{(\d+)\}", lambda m: _text(values[1 + int(m[1])]), str(values[0])))
        if low in ("tolower", "toupper") and len(values) == 1:
            return self._lit(str(values[0]).lower() if low == "tolower" else str(values[0]).upper())
        raise _Unknown(f"the function {name}() is evaluated at deployment, not here")

    @staticmethod
    def _known(arg: Any) -> Any:
        if isinstance(arg, Value):
            if not arg.known:
                raise _Unknown(arg.reason)
            return arg.value
        raise _Unknown("an object or array where a value is needed")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise _Unknown("an object or array inside a string")
    return str(value)


class _Env:
    def __init__(self, template: Node, given: dict[str, Var], file: str) -> None:
        self.file = file
        tv = template.value if isinstance(template.value, dict) else {}
        self.params: dict[str, Var] = {}
        for name, p in (tv.get("parameters").value.items() if tv.get("parameters") and
                        isinstance(tv["parameters"].value, dict) else []):
            if name.lower() in given:
                self.params[name.lower()] = given[name.lower()]
            elif isinstance(p.value, dict) and "defaultValue" in p.value:
                self.params[name.lower()] = Var(True, p.value["defaultValue"], f"defaultValue of parameter {name}")
            else:
                self.params[name.lower()] = Var(False, reason=f"parameter {name} has no defaultValue and no parameter "
                                                              "file gave it")
        vs = tv.get("variables")
        self.variables: dict[str, Node] = {k.lower(): v for k, v in vs.value.items()} if vs and isinstance(vs.value, dict) else {}
        # variable copy loops ("variables": {"copy": [{"name": "pools", "count": n, "input": {...}}]})
        self.variable_copies: dict[str, Node] = {}
        loops = self.variables.pop("copy", None)
        for spec in loops.value if loops is not None and isinstance(loops.value, list) else []:
            name = spec.value.get("name") if isinstance(spec.value, dict) else None
            if name is not None and isinstance(name.value, str):
                self.variable_copies[name.value.lower()] = spec
        self.busy: set[str] = set()
        self.copy_index: dict[str, int] = {}  # copy loop name (lowercase; "" = the resource's) -> index

    def struct(self, node: Node, trail: tuple[Spot | None, str] = (None, "")) -> Any:
        v = node.value
        if isinstance(v, dict):
            out = {k: self.struct(n, trail) for k, n in v.items() if not (k.lower() == "copy" and
                                                                          isinstance(n.value, list))}
            copies = next((n for k, n in v.items() if k.lower() == "copy" and isinstance(n.value, list)), None)
            for spec in copies.value if copies is not None else []:
                name, items = self.property_copy(spec)
                if name:
                    out[name] = items
            return out
        if isinstance(v, list):
            return [self.struct(n, trail) for n in v]
        if isinstance(v, str) and v.startswith("[") and not v.startswith("[["):
            if not v.rstrip().endswith("]"):
                return self._leaf(node, trail)
            try:
                return _Expression(v[1:-1], self, node).evaluate()
            except _Unknown as exc:
                return Value(spot=node.spot, known=False, text=v, reason=str(exc))
        return self._leaf(node, trail)

    def count(self, node: Node | None) -> int | Value:
        """A copy loop's count when literal (at most MAX_COPIES), else the unknown Value."""
        if node is None:
            return Value(spot=Spot(self.file, 1, 1), known=False, reason="a copy loop without a count")
        n = self.struct(node)
        if isinstance(n, Value) and n.known and isinstance(n.value, int) and not isinstance(n.value, bool):
            if 0 <= n.value <= MAX_COPIES:
                return n.value
            return Value(spot=node.spot, known=False, text=node.text,
                         reason=f"a copy count of {n.value} (this scanner expands at most {MAX_COPIES})")
        return Value(spot=node.spot, known=False, text=node.text,
                     reason=f"the copy count is not literal ({n.reason if isinstance(n, Value) else 'not a number'})")

    def property_copy(self, spec: Node) -> tuple[str, Any]:
        """A property copy loop (`"copy": [{"name": "agentPoolProfiles", "count": n, "input": {...}}]`):
        the array it makes, or the unknown Value naming why not."""
        fields = {k.lower(): n for k, n in spec.value.items()} if isinstance(spec.value, dict) else {}
        name = fields["name"].value if "name" in fields and isinstance(fields["name"].value, str) else ""
        count = self.count(fields.get("count"))
        if isinstance(count, Value):
            return name, count
        if "input" not in fields:
            return name, Value(spot=spec.spot, known=False, reason=f"copy loop {name!r} without an input")
        out = []
        for i in range(count):
            self.copy_index[name.lower()] = i
            try:
                out.append(self.struct(fields["input"]))
            finally:
                self.copy_index.pop(name.lower(), None)
        return name, out

    def parameter(self, name: str, node: Node, text: str) -> Any:
        var = self.params.get(name.lower())
        if var is None:
            raise _Unknown(f"parameter {name} is not declared")
        if not var.known:
            raise _Unknown(var.reason)
        if var.struct is not None:
            inner = var.struct
            if isinstance(inner, Value):
                if not inner.known:
                    raise _Unknown(inner.reason)
                return Value(spot=node.spot, known=True, value=inner.value, text=text,
                             source=inner.source or inner.spot, via=inner.via or var.via)
            return inner
        return self._resolved(var.node, node, text, var.via)

    def variable(self, name: str, node: Node, text: str) -> Any:
        spec = self.variable_copies.get(name.lower())
        if spec is not None and name.lower() not in self.busy:
            self.busy.add(name.lower())
            try:
                made = self.property_copy(spec)[1]
            finally:
                self.busy.discard(name.lower())
            if isinstance(made, Value) and not made.known:
                raise _Unknown(made.reason)
            return made
        target = self.variables.get(name.lower())
        if target is None:
            raise _Unknown(f"variable {name} is not declared")
        if name.lower() in self.busy:
            raise _Unknown(f"variable {name} refers to itself")
        self.busy.add(name.lower())
        try:
            return self._resolved(target, node, text, f"variable {name}")
        finally:
            self.busy.discard(name.lower())

    def _resolved(self, target: Node, at: Node, text: str, via: str) -> Any:
        inner = self.struct(target, (target.spot, via))
        if isinstance(inner, Value):
            if not inner.known:
                return Value(spot=at.spot, known=False, text=text, reason=inner.reason)
            return Value(spot=at.spot, known=True, value=inner.value, text=text,
                         source=inner.source or target.spot, via=inner.via or via)
        return inner  # an object or array: its own leaves keep their positions

    def _leaf(self, node: Node, trail) -> Value:
        v = node.value
        if isinstance(v, str) and v.startswith("[["):
            v = v[1:]
        source, via = trail
        # a leaf reached through a parameter / variable is written where it stands (inside the
        # default's array or object), not where that collection starts
        return Value(spot=node.spot, known=True, value=v, text=node.text, source=node.spot if source else None, via=via)


def declarations(template: Node, file: str, given: dict[str, Var]) -> tuple[list[Declaration], list[Problem]]:
    env = _Env(template, given, file)
    out: list[Declaration] = []
    problems: list[Problem] = []
    resources = template.value.get("resources") if isinstance(template.value, dict) else None
    if resources is None:
        return out, problems
    _resources(resources, env, out, problems, "", "", None)
    return out, problems


DEPLOYMENTS = "microsoft.resources/deployments"
MAX_DEPTH = 8
MAX_COPIES = 800  # ARM's own limit on a copy loop's count


def _nested(node: Node, body: Any, env: _Env, address: str, out, problems, depth: int) -> None:
    """A nested deployment with an inline template (what `az bicep build` makes of a module):
    its parameters are evaluated here and its resources read with them."""
    props = node.value.get("properties")
    template = props.value.get("template") if props is not None and isinstance(props.value, dict) else None
    if template is None or not isinstance(template.value, dict):
        # templateLink: another file, not read; the sizes handed to it as parameters are judged
        # (or named when not literal), as for registry modules (arm_shape.size_key)
        link = props.value.get("templateLink") if props is not None and isinstance(props.value, dict) else None
        uri = arm_shape.text(env.struct(link.value["uri"])) if link is not None and isinstance(link.value, dict) \
            and "uri" in link.value else ""
        what = f"the linked template {uri or '(templateLink)'}"
        params = props.value.get("parameters") if props is not None and isinstance(props.value, dict) else None
        for name, entry in (params.value.items() if params is not None and isinstance(params.value, dict) else []):
            if not (arm_shape.size_key(name) and isinstance(entry.value, dict) and "value" in entry.value):
                continue
            v = env.struct(entry.value["value"])
            if not isinstance(v, Value) or (v.known and not (isinstance(v.value, str) and arm_shape.looks_like_size(v.value))):
                continue
            size = v if v.known else Value(spot=v.spot, known=False, text=v.text, reason=f"{v.reason} (a parameter of {what}, not read)")
            out.append(Declaration(kind=ResourceKind.VM, address=address, resource_type=f"deployment {what}",
                                   attribute=f"properties.parameters.{name}.value", size=size, language="arm"))
        return
    if depth >= MAX_DEPTH:
        problems.append(Problem(node.spot, f"nested deployments deeper than {MAX_DEPTH}"))
        return
    given: dict[str, Var] = {}
    params = props.value.get("parameters")
    for name, entry in (params.value.items() if params is not None and isinstance(params.value, dict) else []):
        if isinstance(entry.value, dict) and "value" in entry.value:
            struct = env.struct(entry.value["value"])
            given[name.lower()] = Var(True, via=f"{address} parameter {name}",
                                      struct=_label(struct, f"{address} parameter {name}"))
        else:
            given[name.lower()] = Var(False, reason=f"{address} parameter {name} is a reference, known at deployment")
    options = props.value.get("expressionEvaluationOptions")
    scope = options.value.get("scope") if options is not None and isinstance(options.value, dict) else None
    # The default scope is "outer": the inline template's expressions read the parent's parameters
    # and variables (https://learn.microsoft.com/azure/azure-resource-manager/templates/linked-templates#expression-evaluation-scope-in-nested-templates).
    inner = _Env(template, given, env.file) if scope is not None and str(scope.value).lower() == "inner" else env
    resources = template.value.get("resources")
    if resources is not None:
        _resources(resources, inner, out, problems, "", "", None, f"{address}.", depth + 1)


def _label(struct: Any, via: str) -> Any:
    if isinstance(struct, dict):
        return {k: _label(v, via) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_label(v, via) for v in struct]
    if isinstance(struct, Value) and struct.known and struct.source is None:
        return Value(spot=struct.spot, known=True, value=struct.value, text=struct.text, source=struct.spot, via=via)
    return struct


def _resources(resources: Node, env: _Env, out, problems, parent_type: str, parent_name: str, parent,
               prefix: str = "", depth: int = 0) -> None:
    if isinstance(resources.value, dict):  # languageVersion 2.0: symbolic names
        entries = list(resources.value.items())
    elif isinstance(resources.value, list):
        entries = [("", n) for n in resources.value]
    else:
        problems.append(Problem(resources.spot, "\"resources\" is neither an array nor an object"))
        return
    bodies = [(symbol, node, env.struct(node) if isinstance(node.value, dict) else None) for symbol, node in entries]
    # Top-level agent pools name their cluster ("aks/pool1"): they read its location and version.
    clusters = {arm_shape.text(arm_shape.get(b, "name")).lower(): b for _s, _n, b in bodies
                if b is not None and arm_shape.text(arm_shape.get(b, "type")).lower() == arm_shape.CLUSTER}
    for symbol, node, body in bodies:
        if body is None:
            problems.append(Problem(node.spot, "a resource that is not an object"))
            continue
        rtype = arm_shape.text(arm_shape.get(body, "type"))
        name = arm_shape.text(arm_shape.get(body, "name")) or (
            str(arm_shape.get(body, "name").text) if isinstance(arm_shape.get(body, "name"), Value) else "")
        if parent_type and rtype and "/" not in rtype.split("/", 1)[-1] and not rtype.lower().startswith(parent_type.lower()):
            full_type = f"{parent_type}/{rtype}"
        else:
            full_type = rtype
        full_name = f"{parent_name}/{name}" if parent_name and name and not name.startswith(parent_name) else name
        address = prefix + (symbol or f"{full_type}/{full_name}")
        if full_type.lower() == DEPLOYMENTS:
            _nested(node, body, env, address, out, problems, depth)
            continue
        owner = parent
        if owner is None and full_type.lower() == arm_shape.AGENT_POOL and "/" in full_name:
            owner = clusters.get(full_name.rsplit("/", 1)[0].lower())
        copy = node.value.get("copy")
        if copy is not None and isinstance(copy.value, dict):  # a resource copy loop: one per instance
            count = env.count(copy.value.get("count"))
            loop = copy.value.get("name")
            loop_name = str(loop.value).lower() if loop is not None else ""
            if isinstance(count, Value):  # every instance has the size written here, unknown
                out.extend(arm_shape.declarations(full_type, body, address + "[copy]", node.spot, "arm", owner))
            for i in range(count if isinstance(count, int) else 0):
                env.copy_index.update({"": i, loop_name: i})
                try:
                    instance = env.struct(node)
                finally:
                    env.copy_index.pop("", None)
                    env.copy_index.pop(loop_name, None)
                named = arm_shape.text(arm_shape.get(instance, "name"))
                if named and not symbol:
                    named = f"{parent_name}/{named}" if parent_name and not named.startswith(parent_name) else named
                where = (f"{prefix}{symbol}[{i}]" if symbol else f"{prefix}{full_type}/{named}" if named
                         else f"{address}[{i}]")
                out.extend(arm_shape.declarations(full_type, instance, where, node.spot, "arm", owner))
            continue
        out.extend(arm_shape.declarations(full_type, body, address, node.spot, "arm", owner))
        children = node.value.get("resources")
        if children is not None:
            _resources(children, env, out, problems, full_type, full_name, body, prefix, depth)
