"""Bicep: .bicep and .bicepparam text -> Declarations. Pure: text in, values out. The syntax tree
(with positions) comes from pycep-parser's grammar, the parser already used for infra/.

    parse_file(text, file) -> BicepFile          raises BicepSyntaxError(spot, message)
    parse_bicepparam(text, file) -> (using, {name: Param}, [Problem])
    declarations(files, roots, given) -> (list[Declaration], list[Problem])
        files: {path: BicepFile}; roots: the files evaluated on their own (the others are reached
        through `module` declarations with a relative path); given: {root path: {param: Param}}.

Resolved: quoted strings without interpolation (or whose `${}` parts resolve), numbers, booleans,
objects and arrays; parameters (a .bicepparam value, a module's `params`, else the default);
variables; `for` loops over literal arrays (`[for p in pools: {...}]`, also `items(obj)`), and
`x.y` / `x[0]` / `x['y']` accessors on those. Functions (resourceGroup().location, concat(),
...), conditionals and other resources' properties are not literal and are named. A resource's
child agent pools (`parent: aks` or nested `resource`) read the cluster's location and version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from scanner.core.iac import Declaration, Problem, Spot, Value
from scanner.core.model import ResourceKind
from scanner.sources.iac import arm_shape

MAX_MODULE_DEPTH = 8

_PARSER = None


def _lark():
    global _PARSER
    if _PARSER is None:
        from pycep import BicepParser

        _PARSER = BicepParser().lark_parser
    return _PARSER


class BicepSyntaxError(ValueError):
    def __init__(self, spot: Spot, message: str) -> None:
        super().__init__(f"{spot}: {message}")
        self.spot = spot
        self.message = message


@dataclass
class BicepFile:
    file: str
    text: str
    params: dict[str, tuple[Any, Spot]] = field(default_factory=dict)  # name -> (default node or None, spot)
    variables: dict[str, Any] = field(default_factory=dict)  # name -> value node
    resources: list[tuple[str, str, Any, Spot, str]] = field(default_factory=list)  # symbol, type, body, spot, parent
    modules: list[tuple[str, str, Any, Spot]] = field(default_factory=list)  # symbol, path, body, spot


def _spot(node, file: str) -> Spot:
    if isinstance(node, Token):
        return Spot(file, node.line or 1, node.column or 1)
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return Spot(file, meta.line, meta.column)
    return Spot(file, 1, 1)


def _text(node, text: str) -> str:
    if isinstance(node, Token):
        return str(node)
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return text[meta.start_pos:meta.end_pos].strip()
    return ""


_STATEMENT = re.compile(r"[ \t]*(?:(type)[ \t]+\w+[ \t]*=[ \t]*|(param)[ \t]+\w+[ \t]+)")
_SIMPLE_TYPE = re.compile(r"[\w.]+(?:\[\])?\??")


def _skip(text: str, i: int) -> int:
    """The end of the string or comment starting at i (i itself when there is none)."""
    if text.startswith("'''", i):
        j = text.find("'''", i + 3)
        return len(text) if j < 0 else j + 3
    if text[i] == "'":
        j = i + 1
        while j < len(text) and text[j] != "'" and text[j] != "\n":
            j += 2 if text[j] == "\\" else 1
        return j + 1
    if text.startswith("//", i):
        j = text.find("\n", i)
        return len(text) if j < 0 else j
    if text.startswith("/*", i):
        j = text.find("*/", i + 2)
        return len(text) if j < 0 else j + 2
    return i


def _type_end(text: str, i: int, stop_at_equals: bool) -> int:
    """The end of a type expression starting at i: a newline outside brackets (a line starting
    with `|` continues a union), or, for a parameter, its `= default`."""
    depth = 0
    while i < len(text):
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        c = text[i]
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
        elif depth == 0 and c == "\n":
            rest = text[i + 1:].lstrip()
            if not rest.startswith("|"):
                return i
        elif depth == 0 and stop_at_equals and c == "=" and text[i + 1:i + 2] not in ("=", ">") \
                and text[i - 1:i] not in ("!", "<", ">", "="):
            return i
        i += 1
    return i


def mask_types(text: str) -> str:
    """Blank the type expressions of `type X = ...` and of parameters with an inline object, union
    or generic type (user-defined types: Bicep 0.21+), which the pycep-parser grammar cannot read
    (decorators inside an object type, `'a' | 'b'`, `resourceInput<...>`). Types never carry a VM
    size: each becomes `object`, padded with spaces; the newlines of a type spanning lines follow
    it, so every later line keeps its number. (A parameter whose type spans lines *and* has a
    default is left as written: the grammar wants the default on the type's line.)"""
    out: list[str] = []
    i, last, depth, at_line_start = 0, 0, 0, True
    while i < len(text):
        if at_line_start and depth == 0:
            m = _STATEMENT.match(text, i)
            if m:
                start = m.end()
                end = _type_end(text, start, stop_at_equals=m.group(2) is not None)
                body = text[start:end].rstrip()
                has_default = m.group(2) is not None and text[end:end + 1] == "="
                if body and not _SIMPLE_TYPE.fullmatch(body) and not ("\n" in body and has_default):
                    lines = body.count("\n")
                    out += [text[last:start], "object".ljust(len(body) if not lines else 6) + "\n" * lines]
                    last = i = start + len(body)
                    at_line_start = False
                    continue
        j = _skip(text, i)
        if j != i:
            at_line_start = False
            i = j
            continue
        c = text[i]
        depth += c in "{[("
        depth -= c in "}])"
        at_line_start = c == "\n"
        i += 1
    out.append(text[last:])
    # `[for p in pools: if (p.enabled) {...}]`: the grammar reads a filtered loop only as `if(`;
    # "if (x" becomes "if( x", the same length, so positions hold.
    # `...other` on its own line in an object (Bicep 0.30+ spread) becomes the pair `_: other`, the
    # same length; the evaluator merges it (_SPREAD_KEY). A spread inside an array stays unreadable.
    return _SPREAD.sub(r"\1_: ", _LOOP_IF.sub(r"\1( ", "".join(out)))


_LOOP_IF = re.compile(r"(\[\s*for\b[^\n]*?:\s*if)[ \t]\(")
_SPREAD = re.compile(r"(?m)^([ \t]*)\.\.\.(?=[A-Za-z_(])")
_SPREAD_KEY = "_"


def parse_file(text: str, file: str) -> BicepFile:
    try:
        tree = _lark().parse(mask_types(text if text.endswith("\n") else text + "\n"))
    except UnexpectedInput as exc:
        raise BicepSyntaxError(Spot(file, getattr(exc, "line", 0) or 1, getattr(exc, "column", 0) or 1),
                               _syntax_message(exc)) from None
    except (LarkError, ValueError, RecursionError) as exc:
        raise BicepSyntaxError(Spot(file, 1, 1), f"not Bicep: {type(exc).__name__}") from None
    out = BicepFile(file, text)
    for element in tree.children:
        if not isinstance(element, Tree):
            continue
        kids = element.children
        if element.data == "param":
            name = str(kids[1])
            default = kids[3] if len(kids) > 3 else None
            out.params[name] = (default, _spot(kids[1], file))
        elif element.data == "var":
            out.variables[str(kids[1])] = kids[-1]
        elif element.data == "resource":
            _resource_element(out, kids, file, parent="")
        elif element.data == "module":
            path = str(kids[2].children[0])[1:-1]
            out.modules.append((str(kids[1]), path, kids[-1], _spot(element, file)))
    return out


def _resource_element(out: BicepFile, kids, file: str, parent: str, parent_type: str = "") -> None:
    # [decorators] "resource" NAME type_api_pair [EXISTING] "=" value   (child_resource has no decorators)
    name_tok = next(k for k in kids if isinstance(k, Token) and k.type == "STRING")
    pair = next(k for k in kids if (isinstance(k, Tree) and k.data == "type_api_pair")
                or (isinstance(k, Token) and k.type == "QUOTED_INTERPOLATION"))
    raw = str(pair.children[0] if isinstance(pair, Tree) else pair)[1:-1]
    rtype = raw.split("@", 1)[0]
    if parent_type and "/" not in rtype:
        rtype = f"{parent_type}/{rtype}"
    existing = any(isinstance(k, Token) and k.type == "EXISTING" for k in kids)
    body = kids[-1]
    while isinstance(body, Tree) and body.data == "deploy_condition":
        body = body.children[-1]
    if not existing:  # an `existing` resource declares nothing, but the children in its body are deployed
        out.resources.append((str(name_tok), rtype, body, _spot(name_tok, file), parent))
    if isinstance(body, Tree) and body.data == "object":
        for child in body.children:
            if isinstance(child, Tree) and child.data == "child_resource":
                _resource_element(out, child.children, file, str(name_tok), rtype)


def _syntax_message(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedEOF):
        return "not valid Bicep: unexpected end of file (an unclosed object, array or string?)"
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return "not valid Bicep: unexpected end of file (an unclosed block, string or bracket above?)"
    if isinstance(exc, UnexpectedToken) and not str(exc.token).strip():
        return "not valid Bicep: unexpected line break (an unclosed string or a missing value?)"
    # The grammar is pycep-parser's: valid Bicep it does not know yet also lands here, so say so.
    if isinstance(exc, UnexpectedToken):
        return f"not valid Bicep (or syntax the pycep-parser grammar does not read): unexpected {str(exc.token)!r}"[:200]
    if isinstance(exc, UnexpectedCharacters):
        return f"not valid Bicep (or syntax the pycep-parser grammar does not read): unexpected character {exc.char!r}"
    return "not valid Bicep"


# --------------------------------------------------------------------------- .bicepparam


@dataclass
class Param:
    known: bool
    struct: Any = None  # a structure (dicts/lists of Values) or a Value
    reason: str = ""


def param_from_json(var) -> Param:
    """A value of a JSON parameter file (sources.iac.arm.Var) as a Bicep parameter value."""
    if not var.known or var.node is None:
        return Param(False, reason=var.reason or "not literal")

    def struct(node) -> Any:
        if isinstance(node.value, dict):
            return {k: struct(n) for k, n in node.value.items()}
        if isinstance(node.value, list):
            return [struct(n) for n in node.value]
        return Value(spot=node.spot, known=True, value=node.value, text=node.text, source=node.spot, via=var.via)

    return Param(True, struct(var.node))


def parse_bicepparam(text: str, file: str) -> tuple[str, dict[str, Param], list[Problem]]:
    """`using '<template>'` and `param name = <value>`. Values go through the Bicep grammar (as
    a var declaration), so objects and arrays spanning lines work; each keeps its position."""
    using = ""
    problems: list[Problem] = []
    lines = text.splitlines(keepends=True)
    m = re.search(r"^\s*using\s+'([^']*)'", text, re.M)
    if m:
        using = m[1]
    # Rewrite `param x = v` to `var x = v` (same columns) and drop other statements, then parse.
    rewritten = []
    for line in lines:
        if re.match(r"^\s*using\s", line) or re.match(r"^\s*import\s", line) or re.match(r"^\s*extends\s", line):
            rewritten.append("\n")
        else:
            rewritten.append(re.sub(r"^(\s*)param(\s)", r"\1var  \2", line))
    try:
        parsed = parse_file("".join(rewritten), file)
    except BicepSyntaxError as exc:
        return using, {}, [Problem(exc.spot, exc.message.replace("Bicep", ".bicepparam"))]
    env = _Env(parsed, {}, file)
    out: dict[str, Param] = {}
    for name, node in parsed.variables.items():
        s = env.struct(node)
        if isinstance(s, Value) and not s.known:
            out[name] = Param(False, reason=f"param {name} in {file} is not literal ({s.reason})")
        else:
            out[name] = Param(True, _relabel(s, file))
    return using, out, problems


def _relabel(struct: Any, via: str) -> Any:
    if isinstance(struct, dict):
        return {k: _relabel(v, via) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_relabel(v, via) for v in struct]
    if isinstance(struct, Value) and struct.known:
        return Value(spot=struct.spot, known=True, value=struct.value, text=struct.text,
                     source=struct.source or struct.spot, via=via)
    return struct


# --------------------------------------------------------------------------- evaluation


_MISSING = "is not in the value"


class _Env:
    def __init__(self, bf: BicepFile, given: dict[str, Param], file: str) -> None:
        self.bf = bf
        self.file = file
        self.given = given
        self.scope: dict[str, Any] = {}  # loop variables
        self.busy: set[str] = set()
        self.resources = {sym: (rtype, body) for sym, rtype, body, _s, _p in bf.resources}

    def leaf(self, node, reason: str) -> Value:
        return Value(spot=_spot(node, self.file), known=False, text=_text(node, self.bf.text), reason=reason)

    def name(self, name: str, node) -> Any:
        if name in self.scope:
            return self.scope[name]
        if name in self.bf.variables:
            if name in self.busy:
                return self.leaf(node, f"variable {name} refers to itself")
            self.busy.add(name)
            try:
                inner = self.struct(self.bf.variables[name])
            finally:
                self.busy.discard(name)
            return _via(inner, node, self, f"variable {name}")
        if name in self.bf.params:
            if name in self.given:
                p = self.given[name]
                if not p.known:
                    return self.leaf(node, p.reason)
                return _via(p.struct, node, self, "")
            default, _spot_ = self.bf.params[name]
            if default is None:
                return self.leaf(node, f"parameter {name} has no default and no parameter file or module gave it")
            inner = self.struct(default)
            return _via(inner, node, self, f"default of parameter {name}")
        if name in self.resources:
            return self.leaf(node, f"{name} is a resource: its properties are known at deployment")
        return self.leaf(node, f"{name} is not a parameter, variable or loop variable of {self.file}")

    def struct(self, node) -> Any:
        if isinstance(node, Token):
            return self.leaf(node, "unexpected token")
        kind = node.data
        kids = [k for k in node.children if k is not None]
        if kind == "string":
            tok = kids[0]
            raw = str(tok)
            if tok.type == "STRING":  # a bare identifier: a reference
                return self.name(raw, node)
            return self._quoted(raw, node)
        if kind == "int_type":
            return Value(spot=_spot(node, self.file), known=True, value=int(str(kids[0])), text=str(kids[0]))
        if kind in ("true", "false", "null"):
            return Value(spot=_spot(node, self.file), known=True, value={"true": True, "false": False}.get(kind),
                         text=kind)
        if kind == "multi_line_string":
            raw = str(kids[0])
            return Value(spot=_spot(node, self.file), known=True, value=raw[3:-3], text=raw)
        if kind == "object":
            out = {}
            for pair in kids:
                if isinstance(pair, Tree) and pair.data == "pair":
                    key_tok = pair.children[0].children[0] if isinstance(pair.children[0], Tree) else pair.children[0]
                    key = str(key_tok.children[0] if isinstance(key_tok, Tree) else key_tok).strip("'")
                    value = self.struct(pair.children[1])
                    if key == _SPREAD_KEY:  # `...other` (see mask_types): its properties, then the later ones
                        if isinstance(value, dict):
                            out.update(value)
                        elif isinstance(value, Value) and value.known and isinstance(value.value, dict):
                            out.update({k: Value(spot=value.spot, known=True, value=v, text=value.text,
                                                 source=value.source, via=value.via) for k, v in value.value.items()})
                        else:
                            out[key] = value  # an object spread that is not literal: what it sets is unknown
                        continue
                    out[key] = value
            return out
        if kind == "array":
            return [self.struct(k) for k in kids if isinstance(k, Tree)]
        if kind == "loop":
            return self._loop(node, kids)
        if kind == "deploy_condition":  # `= if (cond) {...}`: judged as if deployed
            return self.struct(kids[-1])
        if kind == "operator":
            return self.struct(kids[0])
        if kind == "coalesce":  # a ?? b ?? c
            return self._coalesce(kids, node)
        if kind == "property_accessor":
            return self._relative(self.struct(kids[0]), kids[1], node)
        if kind == "index_accessor":
            base = self.struct(kids[0])
            idx = self.struct(kids[1])
            if not isinstance(idx, Value) or not idx.known:
                return self.leaf(node, "an index that is not literal")
            return self._access(base, idx.value, node)
        if kind == "function":
            fname = str(kids[0]).rstrip("(").strip()
            args = [self.struct(k) for k in kids[1:] if isinstance(k, Tree)]
            ints = [a.value for a in args if isinstance(a, Value) and a.known and isinstance(a.value, int)
                    and not isinstance(a.value, bool)]
            if fname == "range" and len(args) == 2 and len(ints) == 2 and 0 <= ints[1] <= 800:
                return [Value(spot=_spot(node, self.file), known=True, value=ints[0] + i, text=_text(node, self.bf.text))
                        for i in range(ints[1])]
            if fname == "length" and len(args) == 1:
                arg = args[0]
                if isinstance(arg, (list, dict)):
                    return Value(spot=_spot(node, self.file), known=True, value=len(arg), text=_text(node, self.bf.text))
                if isinstance(arg, Value) and arg.known and isinstance(arg.value, (list, dict, str)):
                    return Value(spot=_spot(node, self.file), known=True, value=len(arg.value),
                                 text=_text(node, self.bf.text))
            if fname == "concat" and args and all(isinstance(a, list) for a in args):
                return [x for a in args for x in a]  # arrays (concat of strings stays a deployment-time value)
            if fname == "union" and args and all(isinstance(a, dict) for a in args):
                merged: dict = {}
                for a in args:
                    merged.update(a)
                return merged
            return self.leaf(node, f"the function {fname}() is evaluated at deployment, not here")
        if kind == "conditional":
            return self.leaf(node, "a conditional expression")
        return self.leaf(node, f"a {kind.replace('_', ' ')} expression")

    def _access(self, base: Any, key: Any, node) -> Any:
        if isinstance(base, Value) and not base.known:
            return base
        got = arm_shape.get(base, key) if isinstance(key, (str, int)) else None
        if got is None:
            return self.leaf(node, f"{key!r} {_MISSING}")
        return _via(got, node, self, "")

    def _relative(self, base: Any, key_node, node) -> Any:
        """`base.<key_node>`: pycep nests accessors to the right (`a.b.c` is a.(b.c), `a.b[0]` is
        a.((b)[0])), so the leftmost name of key_node is a property of base."""
        if isinstance(key_node, Tree) and key_node.data == "operator":
            return self._relative(base, key_node.children[0], node)
        if isinstance(key_node, Tree) and key_node.data == "string" and key_node.children[0].type == "STRING":
            key = str(key_node.children[0]).strip("'")
            got = self._access(base, key, node)
            if isinstance(got, Value) and not got.known and got.reason.endswith(_MISSING) \
                    and re.search(r"\.\?\s*" + re.escape(key) + r"\b", _text(node, self.bf.text)):
                return Value(spot=got.spot, known=True, value=None, text=got.text)  # `.?` of an absent key: null
            return got
        if isinstance(key_node, Tree) and key_node.data == "property_accessor":
            return self._relative(self._relative(base, key_node.children[0], node), key_node.children[1], node)
        if isinstance(key_node, Tree) and key_node.data == "index_accessor":
            inner = self._relative(base, key_node.children[0], node)
            idx = self.struct(key_node.children[1])
            if not isinstance(idx, Value) or not idx.known:
                return self.leaf(node, "an index that is not literal")
            return self._access(inner, idx.value, node)
        if isinstance(key_node, Tree) and key_node.data == "coalesce":
            # pycep reads `p.?a ?? 'b'` as p.(a ?? 'b'): the access first, then the fallbacks
            return self._coalesce([self._relative(base, key_node.children[0], node), *key_node.children[1:]], node)
        return self.leaf(node, "an accessor this scanner does not read")

    def _coalesce(self, operands: list, node) -> Any:
        """`a ?? b`: the first operand that is present and not null (`.?` gives null for an absent key)."""
        for operand in operands:
            value = operand if isinstance(operand, (Value, dict, list)) else self.struct(operand)
            if isinstance(value, Value) and not value.known:
                if value.reason.endswith(_MISSING):
                    continue
                return value
            if isinstance(value, Value) and value.value is None:
                continue
            return value
        return self.leaf(node, "every operand of ?? is null or absent")

    def _quoted(self, raw: str, node) -> Value:
        body = raw[1:-1]
        if "${" not in body:
            return Value(spot=_spot(node, self.file), known=True, value=_unescape(body), text=raw)
        parts = re.split(r"(\$\{[^}]*\})", body)
        out = []
        source, via = None, ""
        for part in parts:
            if part.startswith("${") and part.endswith("}"):
                inner = part[2:-1].strip()
                if not re.fullmatch(r"[A-Za-z_]\w*", inner):
                    return self.leaf(node, f"an interpolation of {inner!r}")
                v = self.name(inner, node)
                if not isinstance(v, Value) or not v.known or isinstance(v.value, (dict, list)):
                    return self.leaf(node, v.reason if isinstance(v, Value) and v.reason else
                                     f"an interpolation of {inner!r} that is not a literal scalar")
                source, via = source or v.source, via or v.via
                out.append(str(v.value).lower() if isinstance(v.value, bool) else str(v.value))
            else:
                out.append(_unescape(part))
        return Value(spot=_spot(node, self.file), known=True, value="".join(out), text=raw, source=source, via=via)

    def _loop(self, node, kids) -> Any:
        # loop: (loop_array | loop_array_index | loop_object) [condition] body
        head = kids[0]
        body = kids[-1]
        if head.data == "loop_object":
            var, source_node = str(head.children[0]), head.children[1]
            coll = self.struct(source_node)
            if isinstance(coll, Value) and not coll.known:
                return self.leaf(node, f"a loop over {_text(source_node, self.bf.text)!r}, which is not literal ({coll.reason})")
            pairs = coll.items() if isinstance(coll, dict) else (
                [(k, arm_shape.get(coll, k)) for k in coll.value] if isinstance(coll, Value) and isinstance(coll.value, dict) else None)
            if pairs is None:
                return self.leaf(node, "items() of something that is not an object")
            elems = [{"key": Value(spot=_spot(node, self.file), known=True, value=k), "value": v} for k, v in pairs]
            names = [var]
        else:
            names = [str(t) for t in head.children if isinstance(t, Token) and t.type == "STRING"]
            source_node = [c for c in head.children if isinstance(c, Tree)][-1]
            coll = self.struct(source_node)
            elems = arm_shape.items(coll)
            if isinstance(elems, Value) or elems is None:
                reason = elems.reason if isinstance(elems, Value) else "not an array"
                return self.leaf(node, f"a loop over {_text(source_node, self.bf.text)!r}, which is not literal ({reason})")
        out = []
        saved = dict(self.scope)
        try:
            for i, elem in enumerate(elems):
                self.scope[names[0]] = elem
                if len(names) > 1:
                    self.scope[names[1]] = Value(spot=_spot(node, self.file), known=True, value=i)
                out.append(self.struct(body))
        finally:
            self.scope = saved
        return out


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "'": "'", "\\": "\\", "$": "$"}.get(m[1], m[0]), text)


def _via(inner: Any, node, env: _Env, via: str) -> Any:
    """A reference resolved to `inner`: a scalar is reported at the reference, with where it came from."""
    if isinstance(inner, Value):
        if not inner.known:
            return Value(spot=_spot(node, env.file), known=False, text=_text(node, env.bf.text), reason=inner.reason)
        return Value(spot=_spot(node, env.file), known=True, value=inner.value, text=_text(node, env.bf.text),
                     source=inner.source or inner.spot, via=inner.via or via)
    return _relabel_module(inner, via) if via else inner


# --------------------------------------------------------------------------- declarations


def declarations(files: dict[str, BicepFile], roots: list[str],
                 given: dict[str, dict[str, Param]]) -> tuple[list[Declaration], list[Problem]]:
    out: list[Declaration] = []
    problems: list[Problem] = []
    for root in roots:
        _file_declarations(files, files[root], given.get(root, {}), "", out, problems, 0)
    return out, problems


def _file_declarations(files, bf: BicepFile, given: dict[str, Param], prefix: str, out, problems, depth: int) -> None:
    env = _Env(bf, given, bf.file)
    bodies: dict[str, Any] = {}
    for symbol, rtype, body_node, spot, parent in bf.resources:
        if rtype.lower() not in arm_shape.TYPES:
            continue
        body = env.struct(body_node)
        bodies[symbol] = body

        def parent_of(b: Any, parent: str = parent) -> Any:
            symbol_ = parent
            p = b.get("parent") if isinstance(b, dict) else None
            if not symbol_ and isinstance(p, Value) and p.text in env.resources:
                symbol_ = p.text
            if not symbol_:
                return None
            found = bodies.get(symbol_)
            if found is None and symbol_ in env.resources:
                found = env.struct(env.resources[symbol_][1])
            return found[0] if isinstance(found, list) and found else found

        if isinstance(body, list):  # a resource loop: one declaration set per element
            for i, b in enumerate(body):
                out.extend(arm_shape.declarations(rtype, b, f"{prefix}{symbol}[{i}]", spot, "bicep", parent_of(b)))
            continue
        parent_body = parent_of(body)
        if isinstance(body, Value):  # a loop over something not literal, or a condition
            for d in arm_shape.declarations(rtype, {}, f"{prefix}{symbol}", spot, "bicep", parent_body):
                out.append(replace(d, size=Value(spot=body.spot, known=False, text=body.text, reason=body.reason)))
            continue
        out.extend(arm_shape.declarations(rtype, body, f"{prefix}{symbol}", spot, "bicep", parent_body))
    for symbol, path, body_node, spot in bf.modules:
        if not path.endswith(".bicep") or ":" in path:
            # registry (br:) and template spec (ts:) modules are not read; the sizes handed to them are
            out.extend(_module_arguments(env.struct(body_node), f"{prefix}{symbol}", path))
            continue
        child_path = _join(bf.file, path)
        child = files.get(child_path)
        if child is None:
            problems.append(Problem(spot, f"module {symbol!r}: {child_path!r} was not read (missing or unparseable)"))
            continue
        if depth >= MAX_MODULE_DEPTH:
            problems.append(Problem(spot, f"module {symbol!r}: nested deeper than {MAX_MODULE_DEPTH}"))
            continue
        body = env.struct(body_node)
        instances = body if isinstance(body, list) else [body]
        for i, inst in enumerate(instances):
            suffix = f"[{i}]" if isinstance(body, list) else ""
            args: dict[str, Param] = {}
            params = arm_shape.get(inst, "params") if not isinstance(inst, Value) else inst
            if isinstance(params, Value) and not params.known:
                for name in child.params:
                    args[name] = Param(False, reason=f"module {symbol} params are not literal ({params.reason})")
            elif isinstance(params, dict):
                for name, v in params.items():
                    if isinstance(v, Value) and not v.known:
                        args[name] = Param(False, reason=f"module {symbol} param {name} is not literal ({v.reason})")
                    else:
                        args[name] = Param(True, _relabel_module(v, f"module {symbol} param {name}"))
            _file_declarations(files, child, args, f"{prefix}{symbol}{suffix}.", out, problems, depth + 1)


def _module_arguments(body: Any, address: str, path: str) -> list[Declaration]:
    """Sizes in the params of a module that is not read (`vmSize: 'Standard_D4s_v3'` handed to
    br/public:avm/res/...): judged when literal, named when not (arm_shape.size_key says which)."""
    out: list[Declaration] = []
    via = f"a param of the module {path} (not read)"

    def visit(value: Any, where: str, key: str, address: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, f"{where}.{k}", str(k), address)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, f"{where}[{i}]", key, address)
        elif isinstance(value, Value) and arm_shape.size_key(key):
            if value.known and isinstance(value.value, str) and arm_shape.looks_like_size(value.value):
                out.append(Declaration(kind=ResourceKind.VM, address=address, resource_type=f"module {path}",
                                       attribute=where, size=replace(value, via=value.via or via), language="bicep"))
            elif not value.known:
                out.append(Declaration(kind=ResourceKind.VM, address=address, resource_type=f"module {path}",
                                       attribute=where, size=replace(value, reason=f"{value.reason} ({via})"),
                                       language="bicep"))

    instances = body if isinstance(body, list) else [body]
    for i, inst in enumerate(instances):
        params = arm_shape.get(inst, "params") if not isinstance(inst, Value) else None
        visit(params, "params", "params", f"{address}[{i}]" if isinstance(body, list) else address)
    return out


def _relabel_module(struct: Any, via: str) -> Any:
    if isinstance(struct, dict):
        return {k: _relabel_module(v, via) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_relabel_module(v, via) for v in struct]
    if isinstance(struct, Value) and struct.known and struct.source is None:
        return Value(spot=struct.spot, known=True, value=struct.value, text=struct.text, source=struct.spot, via=via)
    return struct


def _join(file: str, rel: str) -> str:
    parts = file.split("/")[:-1]
    for piece in rel.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append("..")
        else:
            parts.append(piece)
    return "/".join(parts)
