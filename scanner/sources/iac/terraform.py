"""Terraform: .tf and .tfvars text -> Declarations. Pure: text in, values out (python-hcl2's
parser gives the syntax tree with positions; this module reads it).

    parse_file(text, file) -> TfFile                 raises TfSyntaxError(spot, message)
    parse_tfvars(text, file) -> dict[str, Value]     literal values only; others are named
    declarations(modules, roots, tfvars) -> (list[Declaration], list[Problem])
        modules: {directory: TfModule}; roots: the directories evaluated as root modules (the
        others are reached through `module` blocks with a local `source`); tfvars: values for the
        roots' variables (later files win, as `terraform -var-file` does).

Values are resolved when they are literals or lead to literals: `var.x` (a .tfvars value, a
module argument, else the variable's default), `local.x`, `each.key` / `each.value` of a
`for_each` over a literal map or set, `"${...}"` templates of those, and `<type>.<name>.<attr>`
of a resource in the same module whose attribute is literal (a resource group's location).
Anything else (functions, conditionals, data sources, other resources' computed attributes) is
not literal: the declaration is kept with the expression as written and the reason.

Size attributes (AzureRM provider argument names, checked against the provider's resource pages,
https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/kubernetes_cluster_node_pool
and .../orchestrated_virtual_machine_scale_set): see SIZE_ATTRIBUTES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from scanner.core.iac import Declaration, Problem, Spot, Value
from scanner.core.model import ResourceKind
from scanner.sources.iac import arm_shape

# resource type -> (nested block or None, size attribute, kind)
SIZE_ATTRIBUTES: dict[str, tuple[str | None, str, ResourceKind]] = {
    "azurerm_kubernetes_cluster": ("default_node_pool", "vm_size", ResourceKind.AKS_NODEPOOL),
    "azurerm_kubernetes_cluster_node_pool": (None, "vm_size", ResourceKind.AKS_NODEPOOL),
    "azurerm_linux_virtual_machine": (None, "size", ResourceKind.VM),
    "azurerm_windows_virtual_machine": (None, "size", ResourceKind.VM),
    "azurerm_virtual_machine": (None, "vm_size", ResourceKind.VM),
    "azurerm_linux_virtual_machine_scale_set": (None, "sku", ResourceKind.VMSS),
    "azurerm_windows_virtual_machine_scale_set": (None, "sku", ResourceKind.VMSS),
    "azurerm_orchestrated_virtual_machine_scale_set": (None, "sku_name", ResourceKind.VMSS),
    # the legacy scale set (azurerm 1.x/2.x, still in older estates): sku { name = ... }
    # https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/virtual_machine_scale_set
    "azurerm_virtual_machine_scale_set": ("sku", "name", ResourceKind.VMSS),
}
# azapi resources write the ARM body (the same shape as an ARM/Bicep template, read by arm_shape):
# `type = "Microsoft.ContainerService/managedClusters@<api>"`, `body = { properties = {...} }` (azapi 2.x)
# or `body = jsonencode({...})` (azapi 1.x). https://registry.terraform.io/providers/Azure/azapi/latest/docs/resources/resource
AZAPI_TYPES = ("azapi_resource", "azapi_update_resource")
_WINDOWS_TYPES = ("azurerm_windows_virtual_machine", "azurerm_windows_virtual_machine_scale_set")
MAX_MODULE_DEPTH = 8
MAX_COUNT = 1000  # a literal count above this is not expanded


class TfSyntaxError(ValueError):
    def __init__(self, spot: Spot, message: str) -> None:
        super().__init__(f"{spot}: {message}")
        self.spot = spot
        self.message = message


# --------------------------------------------------------------------------- syntax tree


@dataclass
class Attr:
    name: str
    expr: Any  # lark Tree / Token of the expression
    spot: Spot  # where the value starts
    text: str  # the expression as written


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    attrs: dict[str, Attr]
    blocks: list[Block]
    spot: Spot


@dataclass
class TfFile:
    file: str
    blocks: list[Block]


@dataclass
class TfModule:
    """The .tf files of one directory."""

    directory: str
    files: list[TfFile] = field(default_factory=list)

    def blocks(self, kind: str) -> list[Block]:
        return [b for f in self.files for b in f.blocks if b.type == kind]


def _spot_of(node, file: str) -> Spot:
    if isinstance(node, Token):
        return Spot(file, node.line or 1, node.column or 1)
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return Spot(file, meta.line, meta.column)
    for child in getattr(node, "children", ()):
        if isinstance(child, (Tree, Token)):
            return _spot_of(child, file)
    return Spot(file, 1, 1)


def _span_text(node, text: str) -> str:
    if isinstance(node, Token):
        return str(node)
    meta = getattr(node, "meta", None)
    if meta is not None and not meta.empty:
        return text[meta.start_pos:meta.end_pos].strip()
    return ""


def _name_of(node) -> str:
    """An identifier / keyword / literal / string used as a name."""
    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(str(t) for p in node.children if isinstance(p, Tree) for t in p.children)
    return "".join(str(t) for t in node.scan_values(lambda _t: True))


def _strip_newlines(children):
    return [c for c in children if not (isinstance(c, Tree) and c.data == "new_line_or_comment")]


def _body(node: Tree, file: str, text: str) -> tuple[dict[str, Attr], list[Block]]:
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    for child in _strip_newlines(node.children):
        if child.data == "attribute":
            name = _name_of(child.children[0])
            expr = child.children[-1]
            attrs[name] = Attr(name, expr, _spot_of(expr, file), _span_text(expr, text))
        elif child.data == "block":
            blocks.append(_block(child, file, text))
    return attrs, blocks


def _block(node: Tree, file: str, text: str) -> Block:
    parts = _strip_newlines(node.children)
    names = []
    body = None
    for p in parts:
        if isinstance(p, Tree) and p.data == "body":
            body = p
        elif isinstance(p, Tree):
            names.append(_name_of(p))
    attrs, blocks = _body(body, file, text) if body is not None else ({}, [])
    return Block(names[0] if names else "", tuple(names[1:]), attrs, blocks, _spot_of(node, file))


def parse_file(text: str, file: str) -> TfFile:
    """Parse one .tf / .tfvars text. Raises TfSyntaxError naming the file, line and column."""
    try:
        tree = hcl2.parses_to_tree(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        raise TfSyntaxError(Spot(file, getattr(exc, "line", 0) or 1, getattr(exc, "column", 0) or 1),
                            _syntax_message(exc)) from None
    except (LarkError, ValueError, RecursionError) as exc:
        raise TfSyntaxError(Spot(file, 1, 1), f"not HCL: {type(exc).__name__}: {str(exc)[:200]}") from None
    body = tree.children[0] if tree.children else None
    if body is None:
        return TfFile(file, [])
    attrs, blocks = _body(body, file, text)
    if attrs:  # only .tfvars files have top-level attributes
        blocks.insert(0, Block("__attributes__", (), attrs, [], Spot(file, 1, 1)))
    return TfFile(file, blocks)


def _syntax_message(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedEOF):
        return "not valid HCL: unexpected end of file (an unclosed block or string?)"
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return "not valid HCL: unexpected end of file (an unclosed block, string or bracket above?)"
    if isinstance(exc, UnexpectedToken) and not str(exc.token).strip():
        return "not valid HCL: unexpected line break (an unclosed string or a missing value?)"
    if isinstance(exc, UnexpectedToken):
        return f"not valid HCL: unexpected {exc.token.type} {str(exc.token)!r}"[:200]
    if isinstance(exc, UnexpectedCharacters):
        return f"not valid HCL: unexpected character {exc.char!r}"
    return "not valid HCL"


# --------------------------------------------------------------------------- evaluation


class NotLiteral(Exception):
    pass


class Missing(NotLiteral):
    """A key or index that the (literal) value does not have: try() and lookup() fall back on it."""


@dataclass
class _Var:
    known: bool
    value: Any = None
    source: Spot | None = None
    via: str = ""
    reason: str = ""
    node: Any = None  # the literal's syntax tree, to point at an element of a collection

    def spot_of(self, keys: list) -> Spot | None:
        """Where the element at `keys` of this value is written (the value's own spot for [])."""
        if not keys or self.node is None or self.source is None:
            return self.source
        return _locate(self.node, keys, self.source.file) or self.source


class _Lit(str):
    """A string with the place it is written: it keeps that place through variables, module
    arguments, for_each, lookup(), merge() ..., so a finding points at the line that writes it."""

    spot: Spot | None = None

    @classmethod
    def at(cls, value: str, node, env: _Env) -> str:
        out = cls(value)
        out.spot = _spot_of(node, env.file) if env.file else None
        return out


class _Env:
    def __init__(self, module: TfModule, variables: dict[str, _Var], text_of, prefix: str) -> None:
        self.module = module
        self.variables = variables
        self.text_of = text_of
        self.prefix = prefix
        self.each: tuple[Any, Any] | None = None
        self.each_source: Spot | None = None
        self.each_via = "for_each"
        self.each_origin: _Var | None = None  # the for_each collection's variable, when it is one
        self.locals: dict[str, Attr] = {}
        for b in module.blocks("locals"):
            self.locals.update(b.attrs)
        self.resources: dict[tuple[str, str], Block] = {
            (b.labels[0], b.labels[1]): b for b in module.blocks("resource") if len(b.labels) >= 2
        }
        self._busy: set[str] = set()
        self.trace: list[tuple[Spot | None, str]] = []
        self.scopes: list[dict[str, Any]] = []  # for-expression symbols, innermost last
        self.file = ""  # the file of the expression being evaluated (for _Lit spots)
        self.modules: dict[str, TfModule] | None = None  # every module read (for module.<name>.<output>)
        self.depth = 0

    def evaluate(self, expr) -> Any:
        return _eval(expr, self)

    def attr(self, attr: Attr) -> Any:
        """Evaluate an attribute's expression, strings marked with the attribute's file."""
        saved, self.file = self.file, attr.spot.file
        try:
            return _eval(attr.expr, self)
        finally:
            self.file = saved


def _eval(node, env: _Env) -> Any:
    if isinstance(node, Token):
        raise NotLiteral(f"unexpected token {node!s}")
    kind = node.data
    children = _strip_newlines(node.children)
    if kind == "expr_term":
        inner = [c for c in children if not (isinstance(c, Token) and c.type in ("LPAR", "RPAR"))]
        return _eval(inner[0], env)
    if kind == "string":
        value = _string(children, env)
        interpolated = any(isinstance(c, Tree) and isinstance(c.children[0], Tree) for c in children)
        return value if interpolated else _Lit.at(value, node, env)  # a template: its parts say where
    if kind == "int_lit":
        return int(str(children[0]))
    if kind == "float_lit":
        return float(str(children[0]))
    if kind == "literal_value":
        return {"true": True, "false": False, "null": None}[str(children[0])]
    if kind == "tuple":
        return [_eval(c, env) for c in children if isinstance(c, Tree)]
    if kind == "object":
        out = {}
        for elem in children:
            if isinstance(elem, Tree) and elem.data == "object_elem":
                key_node = elem.children[0]
                key_expr = key_node.children[0] if key_node.children else key_node
                key = _object_key(key_expr, env)
                out[key] = _eval(elem.children[-1], env)
        return out
    if kind in ("get_attr_expr_term", "index_expr_term", "identifier"):
        return _reference(node, env)
    if kind == "function_call":
        return _function(node, env)
    if kind in ("for_tuple_expr", "for_object_expr"):
        return _for(node, children, env)
    if kind == "conditional":  # not chosen by a variable's default: every branch may be deployed
        raise NotLiteral("a conditional expression")
    if kind == "binary_op":
        return _binary(children, env)
    if kind == "unary_op":
        operand = _eval([c for c in children if isinstance(c, Tree)][0], env)
        op = str(children[0])
        if op == "!" and isinstance(operand, bool):
            return not operand
        if op == "-" and isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand
        raise NotLiteral(f"{op} of a value that is not literal")
    if kind in ("heredoc_template", "heredoc_template_trim", "template_string"):
        raise NotLiteral("a heredoc / template")
    raise NotLiteral(f"a {kind.replace('_', ' ')} expression")


def _binary(children, env: _Env) -> Any:
    """Comparisons and boolean logic of literal values (`var.environment == "prod"`)."""
    left = _eval(children[0], env)
    term = children[1]
    op = str([c for c in term.children if isinstance(c, Tree) and c.data == "binary_operator"][0].children[0]) \
        if any(isinstance(c, Tree) and c.data == "binary_operator" for c in term.children) else ""
    right_node = [c for c in term.children if isinstance(c, Tree) and c.data != "binary_operator"
                  and c.data != "new_line_or_comment"][0]
    if op in ("&&", "||") and isinstance(left, bool):
        if (op == "&&" and not left) or (op == "||" and left):
            return left
        right = _eval(right_node, env)
        if isinstance(right, bool):
            return right
        raise NotLiteral(f"{op} of a value that is not a boolean")
    right = _eval(right_node, env)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
    if numbers and op in ("<", ">", "<=", ">="):
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    raise NotLiteral(f"the operator {op or '?'} on these values")


def _function(node, env: _Env) -> Any:
    """The few functions whose result follows from literal arguments and that modules use to pick
    sizes: try(), lookup(map, key, default), coalesce(). Others are evaluated by Terraform only."""
    name = _name_of(node.children[0])
    args_node = next((c for c in node.children if isinstance(c, Tree) and c.data == "arguments"), None)
    args = [c for c in _strip_newlines(args_node.children) if isinstance(c, Tree)] if args_node is not None else []
    if name == "try" and args:
        for arg in args:
            try:
                return _eval(arg, env)
            except Missing:
                continue  # an absent key: try() goes on (any other unknown stays unknown)
        raise NotLiteral("try(): no argument has a value")
    if name == "lookup" and len(args) in (2, 3):
        table, key = _eval(args[0], env), _eval(args[1], env)
        if isinstance(table, dict) and str(key) in table:
            return table[str(key)]
        if len(args) == 3:
            return _eval(args[2], env)
        raise NotLiteral(f"lookup(): {key!r} is not in the map")
    if name == "coalesce" and args:
        for arg in args:
            value = _eval(arg, env)
            if value not in (None, ""):
                return value
        raise NotLiteral("coalesce(): every argument is null or empty")
    if name in ("toset", "tolist") and len(args) == 1:
        value = _eval(args[0], env)
        if not isinstance(value, list):
            raise NotLiteral(f"{name}(): not a list")
        return list(dict.fromkeys(value)) if name == "toset" and all(isinstance(v, (str, int, float)) for v in value) \
            else value
    if name == "tomap" and len(args) == 1:
        value = _eval(args[0], env)
        if not isinstance(value, dict):
            raise NotLiteral("tomap(): not a map")
        return value
    if name == "merge":
        merged: dict = {}
        for arg in args:
            value = _eval(arg, env)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise NotLiteral("merge(): an argument is not a map")
            merged.update(value)
        return merged
    if name == "concat":
        joined: list = []
        for arg in args:
            value = _eval(arg, env)
            if not isinstance(value, list):
                raise NotLiteral("concat(): an argument is not a list")
            joined.extend(value)
        return joined
    if name in ("keys", "values") and len(args) == 1:
        value = _eval(args[0], env)
        if not isinstance(value, dict):
            raise NotLiteral(f"{name}(): not a map")
        return sorted(value) if name == "keys" else [value[k] for k in sorted(value)]
    if name in ("lower", "upper") and len(args) == 1:
        value = _eval(args[0], env)
        if not isinstance(value, str):
            raise NotLiteral(f"{name}(): not a string")
        return value.lower() if name == "lower" else value.upper()
    if name == "length" and len(args) == 1:
        value = _eval(args[0], env)
        if isinstance(value, (list, dict, str)):
            return len(value)
        raise NotLiteral("length(): not a collection or string")
    if name == "element" and len(args) == 2:
        items, index = _eval(args[0], env), _eval(args[1], env)
        if isinstance(items, list) and items and isinstance(index, int) and not isinstance(index, bool):
            return items[index % len(items)]
        raise NotLiteral("element(): not a non-empty list and a number")
    raise NotLiteral(f"the function {name}() is evaluated by Terraform, not here")


def _for(node, children, env: _Env) -> Any:
    """`[for v in coll : expr if cond]` / `{for k, v in coll : key => value if cond}` over a literal
    collection (the shape modules use to key pools by name). Grouping (`...`) is not literal."""
    intro = next(c for c in children if isinstance(c, Tree) and c.data == "for_intro")
    names = [_name_of(c) for c in intro.children if isinstance(c, Tree) and c.data == "identifier"]
    coll = _eval([c for c in intro.children if isinstance(c, Tree) and c.data != "identifier"][0], env)
    cond = next((c for c in children if isinstance(c, Tree) and c.data == "for_cond"), None)
    exprs = [c for c in children if isinstance(c, Tree) and c.data not in ("for_intro", "for_cond")]
    if any(isinstance(c, Token) and str(c) == "..." for c in children):
        raise NotLiteral("a for expression with grouping (...)")
    if isinstance(coll, dict):
        pairs = list(coll.items())
    elif isinstance(coll, list):
        pairs = list(enumerate(coll))
    else:
        raise NotLiteral("a for expression over a value that is not a collection")
    out_list: list = []
    out_map: dict = {}
    for k, v in pairs:
        scope = {names[0]: k, names[1]: v} if len(names) == 2 else {names[0]: v}
        env.scopes.append(scope)
        try:
            if cond is not None:
                test = _eval([c for c in cond.children if isinstance(c, Tree)][0], env)
                if not isinstance(test, bool):
                    raise NotLiteral("a for expression whose `if` is not a literal boolean")
                if not test:
                    continue
            if node.data == "for_tuple_expr":
                out_list.append(_eval(exprs[0], env))
            else:
                key = _eval(exprs[0], env)
                if isinstance(key, (dict, list)) or key is None:
                    raise NotLiteral("a for expression whose key is not a string")
                out_map[str(key)] = _eval(exprs[1], env)
        finally:
            env.scopes.pop()
    return out_list if node.data == "for_tuple_expr" else out_map


def _object_key(node, env: _Env) -> str:
    # In an object, a bare identifier key is the key's name, not a reference.
    if isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Token):
        return str(node)
    if node.data == "identifier":
        return _name_of(node)
    value = _eval(node, env)
    return str(value)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _string(parts, env: _Env) -> str:
    out = []
    for p in parts:
        if isinstance(p, Token):
            continue  # quotes
        inner = p.children[0]
        if isinstance(inner, Token):
            if inner.type == "STRING_CHARS":
                out.append(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), str(inner)))
            elif inner.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                out.append(str(inner)[1:])
            else:
                raise NotLiteral("a template directive")
        elif inner.data == "interpolation":
            value = _eval([c for c in inner.children if isinstance(c, Tree)][0], env)
            if isinstance(value, (dict, list)):
                raise NotLiteral("an interpolation of a collection")
            out.append("true" if value is True else "false" if value is False else str(value))
        else:
            raise NotLiteral("a template directive")
    return "".join(out)


def _path(node) -> tuple[str, list]:
    """`a.b["c"].d` -> ("a", [("attr","b"), ("index", node), ("attr","d")])."""
    steps: list = []
    while True:
        if isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
            node = node.children[0]
            continue
        if isinstance(node, Tree) and node.data == "get_attr_expr_term":
            steps.append(("attr", _name_of(node.children[1].children[-1])))
            node = node.children[0]
            continue
        if isinstance(node, Tree) and node.data == "index_expr_term":
            idx = node.children[1]
            if idx.data == "short_index":
                steps.append(("value", int(str(idx.children[-1]))))
            else:
                steps.append(("index", [c for c in idx.children if isinstance(c, Tree)][0]))
            node = node.children[0]
            continue
        break
    if isinstance(node, Tree) and node.data == "identifier":
        return _name_of(node), list(reversed(steps))
    raise NotLiteral("an expression that is not a reference")


def _base_and_steps(node) -> tuple[Any, list]:
    """`f(x).a[0]` -> (the f(x) node, [("attr", "a"), ("value", 0)]): steps on a value that is not a name."""
    steps: list = []
    while True:
        if isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
            node = node.children[0]
        elif isinstance(node, Tree) and node.data == "get_attr_expr_term":
            steps.append(("attr", _name_of(node.children[1].children[-1])))
            node = node.children[0]
        elif isinstance(node, Tree) and node.data == "index_expr_term":
            idx = node.children[1]
            steps.append(("value", int(str(idx.children[-1]))) if idx.data == "short_index"
                         else ("index", [c for c in idx.children if isinstance(c, Tree)][0]))
            node = node.children[0]
        else:
            return node, list(reversed(steps))


def _walk(value: Any, steps: list, env: _Env, keys: list | None = None) -> Any:
    for kind, step in steps:
        key = _eval(step, env) if kind == "index" else step
        if isinstance(value, dict) and str(key) in value:
            value = value[str(key)]
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            raise Missing(f"{key!r} is not in the value")
        if keys is not None:
            keys.append(key)
    return value


def _locate(node, keys: list, file: str) -> Spot | None:
    """The spot of the element at `keys` inside a literal collection's syntax tree."""
    for key in keys:
        while isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
            node = node.children[0]
        if not isinstance(node, Tree):
            return None
        kids = _strip_newlines(node.children)
        if node.data == "object":
            found = None
            for elem in kids:
                if isinstance(elem, Tree) and elem.data == "object_elem":
                    key_node = elem.children[0].children[0] if elem.children[0].children else elem.children[0]
                    while isinstance(key_node, Tree) and key_node.data == "expr_term" and len(key_node.children) == 1:
                        key_node = key_node.children[0]
                    if _name_of(key_node) == str(key):
                        found = elem.children[-1]
            if found is None:
                return None
            node = found
        elif node.data == "tuple" and isinstance(key, int):
            items = [c for c in kids if isinstance(c, Tree)]
            if not 0 <= key < len(items):
                return None
            node = items[key]
        else:
            return None
    return _spot_of(node, file)


def _reference(node, env: _Env) -> Any:
    try:
        root, steps = _path(node)
    except NotLiteral:
        base, steps = _base_and_steps(node)
        return _walk(_eval(base, env), steps, env)
    for scope in reversed(env.scopes):
        if root in scope:
            return _walk(scope[root], steps, env)
    if root == "var":
        if not steps or steps[0][0] != "attr":
            raise NotLiteral("a reference to var without a name")
        name = steps[0][1]
        var = env.variables.get(name)
        if var is None:
            raise NotLiteral(f"var.{name} is not declared in {env.module.directory or '.'}")
        if not var.known:
            raise NotLiteral(var.reason or f"var.{name} has no literal value")
        keys: list = []
        value = _walk(var.value, steps[1:], env, keys)
        env.trace.append((var.spot_of(keys), var.via))
        return value
    if root == "local":
        if not steps or steps[0][0] != "attr":
            raise NotLiteral("a reference to local without a name")
        name = steps[0][1]
        attr = env.locals.get(name)
        if attr is None:
            raise NotLiteral(f"local.{name} is not defined in {env.module.directory or '.'}")
        if name in env._busy:
            raise NotLiteral(f"local.{name} refers to itself")
        env._busy.add(name)
        try:
            value = env.attr(attr)
        finally:
            env._busy.discard(name)
        env.trace.append((attr.spot, f"local.{name}"))
        return _walk(value, steps[1:], env)
    if root == "each":
        if env.each is None or isinstance(env.each, _Count):
            raise NotLiteral("each.* outside a for_each over a literal map or set")
        if not steps or steps[0] not in (("attr", "key"), ("attr", "value")):
            raise NotLiteral("each.* other than each.key / each.value")
        keys = [] if steps[0][1] == "key" else [env.each[0]]
        value = _walk(env.each[0] if steps[0][1] == "key" else env.each[1], steps[1:], env, keys)
        origin = env.each_origin
        env.trace.append(((origin.spot_of(keys) if origin is not None else None) or env.each_source, env.each_via))
        return value
    if root == "count" and isinstance(env.each, _Count) and steps == [("attr", "index")]:
        return env.each.index
    if root == "module" and len(steps) >= 2 and steps[0][0] == "attr" and steps[1][0] == "attr":
        return _walk(_module_output(env, steps[0][1], steps[1][1]), steps[2:], env)
    if root in ("data", "module", "path", "terraform", "count", "self"):
        raise NotLiteral(f"{root}.* is known only when Terraform runs")
    # <resource type>.<name>.<attribute> of a resource in the same module
    if len(steps) >= 2 and steps[0][0] == "attr" and steps[1][0] == "attr":
        block = env.resources.get((root, steps[0][1]))
        if block is not None and steps[1][1] in block.attrs:
            key = f"{root}.{steps[0][1]}.{steps[1][1]}"
            if key in env._busy:
                raise NotLiteral(f"{key} refers to itself")
            env._busy.add(key)
            try:
                attr = block.attrs[steps[1][1]]
                value = env.attr(attr)
            finally:
                env._busy.discard(key)
            env.trace.append((attr.spot, key))
            return _walk(value, steps[2:], env)
        raise NotLiteral(f"{root}.{steps[0][1]}.{steps[1][1]} is computed when Terraform runs")
    raise NotLiteral(f"{root} is not a value this scanner can resolve")


def _value(attr: Attr | None, env: _Env, fallback_spot: Spot) -> Value:
    if attr is None:
        return Value(spot=fallback_spot, known=False, reason="not set")
    env.trace = []
    try:
        value = env.attr(attr)
    except NotLiteral as exc:
        return Value(spot=attr.spot, known=False, text=attr.text, reason=str(exc))
    source, via = next(((s, v) for s, v in env.trace if s is not None), (None, ""))
    if isinstance(value, _Lit) and value.spot is not None:
        source = value.spot if value.spot != attr.spot else None
        via = via if source is not None else ""
    return Value(spot=attr.spot, known=True, value=value, text=attr.text, source=source, via=via)


def _literal(attr: Attr | None, env: _Env) -> Any:
    """The attribute's value when literal, else None (for facts around the size: OS, location)."""
    if attr is None:
        return None
    try:
        return env.attr(attr)
    except NotLiteral:
        return None


# --------------------------------------------------------------------------- tfvars


def parse_tfvars(tf: TfFile) -> tuple[dict[str, _Var], list[Problem]]:
    """Literal values of a .tfvars file; an entry that is not literal is a Problem naming it."""
    out: dict[str, _Var] = {}
    problems: list[Problem] = []
    env = _Env(TfModule("", []), {}, None, "")
    for block in tf.blocks:
        if block.type != "__attributes__":
            problems.append(Problem(block.spot, f"a .tfvars file holds attributes only, not a {block.type!r} block"))
            continue
        for name, attr in block.attrs.items():
            try:
                out[name] = _Var(True, env.attr(attr), attr.spot, f"{tf.file}", node=attr.expr)
            except NotLiteral as exc:
                out[name] = _Var(False, reason=f"var.{name} in {tf.file} is not literal ({exc})")
    return out, problems


def tfvars_from_json(node, file: str) -> tuple[dict[str, _Var], list[Problem]]:
    """A .tfvars.json file (an object of variable values), parsed by sources.iac.arm.parse_json."""
    from scanner.sources.iac.arm import plain

    if not isinstance(node.value, dict):
        return {}, [Problem(node.spot, "a .tfvars.json file must be a JSON object of variable values")]
    def value(entry) -> Any:  # strings keep where they are written, as in a .tfvars file
        if isinstance(entry.value, dict):
            return {k: value(v) for k, v in entry.value.items()}
        if isinstance(entry.value, list):
            return [value(v) for v in entry.value]
        if isinstance(entry.value, str):
            out = _Lit(entry.value)
            out.spot = entry.spot
            return out
        return plain(entry)

    return {name: _Var(True, value(entry), entry.spot, file) for name, entry in node.value.items()}, []


# --------------------------------------------------------------------------- declarations


def _variables(module: TfModule, given: dict[str, _Var]) -> dict[str, _Var]:
    env = _Env(module, {}, None, "")
    out: dict[str, _Var] = {}
    for block in module.blocks("variable"):
        if not block.labels:
            continue
        name = block.labels[0]
        type_attr = block.attrs.get("type")
        if name in given:
            out[name] = _typed(given[name], type_attr, env)
            continue
        default = block.attrs.get("default")
        if default is None:
            out[name] = _Var(False, reason=f"var.{name} has no default and no value was given (a .tfvars file "
                                           "or a module argument)")
            continue
        try:
            out[name] = _typed(_Var(True, env.attr(default), default.spot, f"default of var.{name}", node=default.expr),
                               type_attr, env)
        except NotLiteral as exc:
            out[name] = _Var(False, reason=f"the default of var.{name} is not literal ({exc})")
    return out


def _typed(var: _Var, type_attr: Attr | None, env: _Env) -> _Var:
    """The value as Terraform converts it to the variable's type: absent or null `optional(T, d)`
    attributes of an object type take their default d (Terraform 1.3+,
    https://developer.hashicorp.com/terraform/language/expressions/type-constraints#optional-object-type-attributes)."""
    if not var.known or type_attr is None:
        return var
    try:
        value = _conform(type_attr.expr, var.value, env, type_attr.spot.file)
    except NotLiteral:
        return var  # a default that is not literal: the value as given
    return replace(var, value=value) if value is not var.value else var


def _type_call(node) -> tuple[str, list]:
    while isinstance(node, Tree) and node.data == "expr_term" and len(_strip_newlines(node.children)) == 1:
        node = _strip_newlines(node.children)[0]
    if isinstance(node, Tree) and node.data == "function_call":
        args = next((c for c in node.children if isinstance(c, Tree) and c.data == "arguments"), None)
        return _name_of(node.children[0]), [c for c in _strip_newlines(args.children) if isinstance(c, Tree)] if args else []
    return "", []


def _conform(type_node, value: Any, env: _Env, file: str) -> Any:
    kind, args = _type_call(type_node)
    if kind in ("map", "list", "set") and len(args) == 1:
        if isinstance(value, dict) and kind == "map":
            return {k: _conform(args[0], v, env, file) for k, v in value.items()}
        if isinstance(value, list) and kind in ("list", "set"):
            return [_conform(args[0], v, env, file) for v in value]
        return value
    if kind == "object" and len(args) == 1 and isinstance(value, dict):
        fields = args[0]
        while isinstance(fields, Tree) and fields.data == "expr_term" and len(_strip_newlines(fields.children)) == 1:
            fields = _strip_newlines(fields.children)[0]
        if not (isinstance(fields, Tree) and fields.data == "object"):
            return value
        out = dict(value)
        for elem in _strip_newlines(fields.children):
            if not (isinstance(elem, Tree) and elem.data == "object_elem"):
                continue
            key_node = elem.children[0].children[0] if elem.children[0].children else elem.children[0]
            key = _object_key(key_node, env)
            field_type = elem.children[-1]
            opt, opt_args = _type_call(field_type)
            if opt == "optional" and opt_args:
                if out.get(key) is None and len(opt_args) == 2:
                    saved, env.file = env.file, file
                    try:
                        out[key] = _eval(opt_args[1], env)
                    finally:
                        env.file = saved
                elif key not in out:
                    out[key] = None
                field_type = opt_args[0]
            if key in out and out[key] is not None:
                out[key] = _conform(field_type, out[key], env, file)
        return out
    return value


def _is_reference(node) -> bool:
    try:
        _path(node)
    except NotLiteral:
        return False
    return True


@dataclass(frozen=True)
class _Count:
    """One instance of a resource / module with a literal `count`."""

    index: int


def _instances(block: Block, env: _Env) -> list[tuple[str, tuple[Any, Any] | None, str]]:
    """(address suffix, each, why not expanded) for a resource / module block."""
    fe = block.attrs.get("for_each")
    if fe is None:
        count = block.attrs.get("count")
        n = _literal(count, env) if count is not None else None
        if count is not None and n == 0:
            return []  # count = 0: not created
        if isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_COUNT:
            return [(f"[{i}]", _Count(i), "") for i in range(n)]  # count.index resolves in each
        return [("", None, "")]
    env.trace = []
    env.each_origin = None
    try:
        value = env.attr(fe)
    except NotLiteral as exc:
        return [("[*]", None, f"for_each is not literal ({exc})")]
    root, steps = _path(fe.expr) if _is_reference(fe.expr) else ("", [])
    if root == "var" and len(steps) == 1 and steps[0][0] == "attr":
        env.each_origin = env.variables.get(steps[0][1])
    elif root == "" and env.each_origin is None:
        env.each_origin = _Var(True, value, fe.spot, "for_each", node=fe.expr)
    source, via = next(((s, v) for s, v in env.trace if s is not None), (fe.spot, "for_each"))
    env.each_source, env.each_via = source, f"for_each ({via})" if via != "for_each" else via
    if isinstance(value, dict):
        return [(f'["{k}"]', (k, v), "") for k, v in value.items()]
    if isinstance(value, list):
        return [(f'["{v}"]', (v, v), "") for v in value]
    return [("[*]", None, "for_each is neither a map nor a set")]


def declarations(modules: dict[str, TfModule], roots: list[str],
                 tfvars: dict[str, _Var]) -> tuple[list[Declaration], list[Problem]]:
    out: list[Declaration] = []
    problems: list[Problem] = []
    for root in roots:
        module = modules[root]
        _module_declarations(modules, module, _variables(module, tfvars), "", out, problems, 0)
    return out, problems


def _module_declarations(modules, module: TfModule, variables: dict[str, _Var], prefix: str,
                         out: list[Declaration], problems: list[Problem], depth: int) -> None:
    env = _Env(module, variables, None, prefix)
    env.modules, env.depth = modules, depth
    for block in module.blocks("resource"):
        if len(block.labels) >= 2 and block.labels[0] in AZAPI_TYPES:
            found = []
            for suffix, each, why in _instances(block, env):
                env.each = each
                found.append(_azapi(block, env, f"{prefix}{block.labels[0]}.{block.labels[1]}{suffix}", why))
                env.each = None
            out.extend(_same_for_every_count(found, f"{prefix}{block.labels[0]}.{block.labels[1]}"))
            continue
        if len(block.labels) < 2 or block.labels[0] not in SIZE_ATTRIBUTES:
            continue
        found = []
        for suffix, each, why in _instances(block, env):
            env.each = each
            found.append(_resource(block, env, f"{prefix}{block.labels[0]}.{block.labels[1]}{suffix}", why))
            env.each = None
        out.extend(_same_for_every_count(found, f"{prefix}{block.labels[0]}.{block.labels[1]}"))
    for block in module.blocks("module"):
        if not block.labels:
            continue
        source = _literal(block.attrs.get("source"), env)
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            # registry / git modules are not read; the sizes handed to them are (agents_size = "...")
            for suffix, each, _why in _instances(block, env):
                env.each = each
                out.extend(_module_arguments(block, env, f"{prefix}module.{block.labels[0]}{suffix}",
                                             str(source or block.attrs.get("source", Attr("", None, block.spot, "")).text)))
                env.each = None
            continue
        child_dir = _join(module.directory, source)
        child = modules.get(child_dir)
        if child is None:
            problems.append(Problem(block.attrs["source"].spot, f"module {block.labels[0]!r}: no .tf files in {child_dir!r}"))
            continue
        if depth >= MAX_MODULE_DEPTH:
            problems.append(Problem(block.spot, f"module {block.labels[0]!r}: nested deeper than {MAX_MODULE_DEPTH}"))
            continue
        for suffix, each, why in _instances(block, env):
            env.each = each
            given = _module_given(block, env, suffix, why)
            env.each = None
            _module_declarations(modules, child, _variables(child, given),
                                 f"{prefix}module.{block.labels[0]}{suffix}.", out, problems, depth + 1)


def _module_given(block: Block, env: _Env, suffix: str, why: str) -> dict[str, _Var]:
    """The arguments of a local module call, as values for the module's variables."""
    given: dict[str, _Var] = {}
    for name, attr in block.attrs.items():
        if name in ("source", "version", "for_each", "count", "providers", "depends_on"):
            continue
        v = _value(attr, env, attr.spot)
        where = f"module.{block.labels[0]}{suffix} argument {name}"
        given[name] = (_Var(True, v.value, v.source or v.spot, where,
                            node=attr.expr if v.source is None else None) if v.known
                       else _Var(False, reason=f"{where} is not literal ({v.reason})" + (f"; {why}" if why else "")))
    return given


def _module_output(env: _Env, name: str, output: str) -> Any:
    """`module.<name>.<output>` of a local module called once (no count / for_each), when the
    output's value is literal with the call's arguments."""
    block = next((b for b in env.module.blocks("module") if b.labels and b.labels[0] == name), None)
    if block is None or env.modules is None:
        raise NotLiteral(f"module.{name} is not called in {env.module.directory or '.'}")
    if "for_each" in block.attrs or "count" in block.attrs:
        raise NotLiteral(f"module.{name} has count / for_each: its outputs are known only when Terraform runs")
    source = _literal(block.attrs.get("source"), env)
    child = env.modules.get(_join(env.module.directory, source)) if isinstance(source, str) \
        and source.startswith(("./", "../")) else None
    if child is None:
        raise NotLiteral(f"module.{name}.{output}: the module is not read (registry, git or missing)")
    out_block = next((b for b in child.blocks("output") if b.labels and b.labels[0] == output), None)
    if out_block is None or "value" not in out_block.attrs:
        raise NotLiteral(f"module.{name} has no output {output!r}")
    key = f"module.{name}.{output}"
    if key in env._busy or env.depth >= MAX_MODULE_DEPTH:
        raise NotLiteral(f"{key} refers to itself")
    env._busy.add(key)
    try:
        inner = _Env(child, _variables(child, _module_given(block, env, "", "")), None, "")
        inner.modules, inner.depth = env.modules, env.depth + 1
        try:
            return inner.attr(out_block.attrs["value"])
        except NotLiteral as exc:
            raise NotLiteral(f"{key} is not literal ({exc})") from None
    finally:
        env._busy.discard(key)


def _module_arguments(block: Block, env: _Env, address: str, source: str) -> list[Declaration]:
    out: list[Declaration] = []

    def visit(value: Any, path: str, key: str, attr: Attr) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, f'{path}["{k}"]' if not str(k).isidentifier() else f"{path}.{k}", str(k), attr)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, f"{path}[{i}]", key, attr)
        elif isinstance(value, str) and arm_shape.size_key(key) and arm_shape.looks_like_size(value):
            spot = value.spot if isinstance(value, _Lit) and value.spot is not None else attr.spot
            out.append(Declaration(kind=ResourceKind.VM, address=address, resource_type=f"module {source}",
                                   attribute=path, size=Value(spot=attr.spot, known=True, value=str(value), text=attr.text,
                                                              source=spot if spot != attr.spot else None,
                                                              via=f"an argument of the module {source} (not read)"),
                                   language="terraform"))

    for name, attr in block.attrs.items():
        if name in ("source", "version", "for_each", "count", "providers", "depends_on"):
            continue
        v = _value(attr, env, attr.spot)
        if v.known:
            visit(v.value, name, name, attr)
        elif arm_shape.size_key(name):
            out.append(Declaration(kind=ResourceKind.VM, address=address, resource_type=f"module {source}",
                                   attribute=name, size=Value(spot=attr.spot, known=False, text=attr.text,
                                                              reason=f"{v.reason} (an argument of the module {source}, "
                                                                     "which is not read)"), language="terraform"))
    return out


def _same_for_every_count(instances: list[list[Declaration]], address: str) -> list[Declaration]:
    """The declarations of a resource's instances; when `count` made several that declare the same
    thing (a size that does not depend on count.index), one, under the resource's address."""
    if len(instances) < 2 or not all(d.address.startswith(address + "[") and d.address[len(address) + 1:-1].isdigit()
                                     for group in instances for d in group):
        return [d for group in instances for d in group]
    plain = [[replace(d, address=address + d.address[d.address.index("]") + 1:]) for d in group] for group in instances]
    return plain[0] if all(group == plain[0] for group in plain) else [d for group in instances for d in group]


def _join(directory: str, source: str) -> str:
    parts = [p for p in (directory.split("/") if directory and directory != "." else [])]
    for piece in source.rstrip("/").split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append("..")
        else:
            parts.append(piece)
    return "/".join(parts) or "."


def _resource(block: Block, env: _Env, address: str, why: str) -> list[Declaration]:
    rtype = block.labels[0]
    nested, size_name, kind = SIZE_ATTRIBUTES[rtype]
    location = _literal(block.attrs.get("location"), env)
    location = location if isinstance(location, str) else ""
    if nested is not None and kind is not ResourceKind.AKS_NODEPOOL:  # legacy scale set: sku { name }
        skus = [b for b in block.blocks if b.type == nested]
        if not skus:
            return [Declaration(kind=kind, address=address, resource_type=rtype, attribute=f"{nested}.{size_name}",
                                size=Value(spot=block.spot, known=False, reason=f"{nested}.{size_name} is not set"),
                                location=location, language="terraform")]
        return [replace(_declaration(sku, env, rtype, address, f"{nested}.{size_name}", kind, location, "", why),
                        zones=_zones(block, env)) for sku in skus]
    if nested is not None:  # azurerm_kubernetes_cluster.default_node_pool
        pools = [b for b in block.blocks if b.type == nested]
        out = []
        version = _literal(block.attrs.get("kubernetes_version"), env)
        for pool in pools:
            out.append(_declaration(pool, env, rtype, address, f"{nested}.{size_name}", kind, location,
                                    str(version) if version else "", why, mode_default="System"))
        return out
    if rtype == "azurerm_kubernetes_cluster_node_pool":
        cluster = _cluster_of(block, env)
        if not location and cluster is not None:
            loc = _literal(cluster.attrs.get("location"), env)
            location = loc if isinstance(loc, str) else ""
        version = _literal(block.attrs.get("orchestrator_version"), env)
        if not version and cluster is not None:
            version = _literal(cluster.attrs.get("kubernetes_version"), env)
        return [_declaration(block, env, rtype, address, size_name, kind, location, str(version) if version else "",
                             why, mode_default="User")]
    decl = _declaration(block, env, rtype, address, size_name, kind, location, "", why)
    mixed = _mix_sizes(block, env, decl) if rtype == "azurerm_orchestrated_virtual_machine_scale_set" else None
    return mixed or [decl]


def _zones(block: Block, env: _Env) -> tuple[str, ...]:
    zones = _literal(block.attrs.get("zones"), env)
    return tuple(str(z) for z in zones) if isinstance(zones, list) else ()


def _azapi(block: Block, env: _Env, address: str, why: str) -> list[Declaration]:
    type_attr = block.attrs.get("type")
    rtype = _literal(type_attr, env)
    if not isinstance(rtype, str):
        if type_attr is None:
            return []
        v = _value(type_attr, env, type_attr.spot)
        return [Declaration(kind=ResourceKind.VM, address=address, resource_type=block.labels[0], attribute="type",
                            size=Value(spot=type_attr.spot, known=False, text=type_attr.text,
                                       reason=f"{v.reason or 'not a string'}: whether it declares a VM size is "
                                              "known only when Terraform runs"), language="terraform")]
    arm_type = rtype.split("@", 1)[0]
    if arm_type.lower() not in arm_shape.TYPES:
        return []
    body_attr = block.attrs.get("body")
    struct: Any = _structure(body_attr, body_attr.expr, env) if body_attr is not None else {}
    if isinstance(struct, dict):
        for name in ("location", "name"):
            if name in block.attrs and not any(str(k).lower() == name for k in struct):
                struct[name] = _leaf(block.attrs[name], block.attrs[name].expr, env)
    if why and isinstance(struct, Value) and not struct.known:
        struct = replace(struct, reason=why)
    found = arm_shape.declarations(arm_type, struct, address, body_attr.spot if body_attr else block.spot, "terraform")
    return [replace(d, attribute=f"body.{d.attribute}", resource_type=arm_type,
                    unresolved=tuple((f"body.{n}", v) for n, v in d.unresolved)) for d in found]


def _structure(attr: Attr, node, env: _Env) -> Any:
    """An HCL body as the dicts and lists arm_shape reads, leaves as Values with their spots."""
    while isinstance(node, Tree) and node.data == "expr_term" and len(_strip_newlines(node.children)) == 1:
        node = _strip_newlines(node.children)[0]
    if isinstance(node, Tree) and node.data == "object":
        out: dict = {}
        for elem in _strip_newlines(node.children):
            if isinstance(elem, Tree) and elem.data == "object_elem":
                key_node = elem.children[0]
                try:
                    key = _object_key(key_node.children[0] if key_node.children else key_node, env)
                except NotLiteral:
                    continue  # a computed key cannot name a size property
                out[key] = _structure(attr, elem.children[-1], env)
        return out
    if isinstance(node, Tree) and node.data == "tuple":
        return [_structure(attr, c, env) for c in _strip_newlines(node.children) if isinstance(c, Tree)]
    if isinstance(node, Tree) and node.data == "function_call" and _name_of(node.children[0]) == "jsonencode":
        args = next((c for c in node.children if isinstance(c, Tree) and c.data == "arguments"), None)
        kids = [c for c in _strip_newlines(args.children) if isinstance(c, Tree)] if args is not None else []
        if len(kids) == 1:
            return _structure(attr, kids[0], env)
    return _leaf(attr, node, env)


def _leaf(attr: Attr, node, env: _Env) -> Value:
    spot = _spot_of(node, attr.spot.file)
    text = ""
    root, meta = getattr(attr.expr, "meta", None), getattr(node, "meta", None)
    if root is not None and meta is not None and not root.empty and not meta.empty:
        text = attr.text[meta.start_pos - root.start_pos:meta.end_pos - root.start_pos].strip()
    value = _value(Attr(attr.name, node, spot, text or attr.text), env, spot)
    if value.known and isinstance(value.value, _Lit):
        value = replace(value, value=str(value.value))
    return value


def _mix_sizes(block: Block, env: _Env, decl: Declaration) -> list[Declaration] | None:
    """sku_name = "Mix": one declaration per size of sku_profile.vm_sizes (when that list is literal)."""
    if decl.size.text.strip() != '"Mix"':
        return None
    profile = next((b for b in block.blocks if b.type == "sku_profile"), None)
    attr = profile.attrs.get("vm_sizes") if profile is not None else None
    if attr is None:
        return None
    value = _value(attr, env, attr.spot)
    if not value.known or not isinstance(value.value, list):
        return [replace(decl, attribute="sku_profile.vm_sizes", size=Value(
            spot=attr.spot, known=False, text=attr.text, reason=value.reason or "not a list"))]
    out = []
    for i, size in enumerate(value.value):
        where = _locate(attr.expr, [i], attr.spot.file) if value.source is None else None
        spot = where or attr.spot
        out.append(replace(decl, attribute=f"sku_profile.vm_sizes[{i}]", size=Value(
            spot=spot, known=isinstance(size, str), value=size if isinstance(size, str) else None,
            text=attr.text, source=value.source, via=value.via,
            reason="" if isinstance(size, str) else f"not a string ({size!r})")))
    return out


def _cluster_of(block: Block, env: _Env) -> Block | None:
    attr = block.attrs.get("kubernetes_cluster_id")
    if attr is None:
        return None
    m = re.match(r"^azurerm_kubernetes_cluster\.([A-Za-z0-9_-]+)\.id$", attr.text.strip())
    return env.resources.get(("azurerm_kubernetes_cluster", m[1])) if m else None


def _declaration(block: Block, env: _Env, rtype: str, address: str, attribute: str, kind: ResourceKind,
                 location: str, version: str, why: str, mode_default: str = "") -> Declaration:
    size_attr = block.attrs.get(attribute.rsplit(".", 1)[-1])
    size = _value(size_attr, env, block.spot)
    if not size.known and why and size_attr is not None and "each." in size_attr.text:
        size = Value(spot=size.spot, known=False, text=size.text, reason=why)
    if size.known and isinstance(size.value, _Lit):
        size = replace(size, value=str(size.value))
    if size.known and not isinstance(size.value, str):
        size = Value(spot=size.spot, known=False, text=size.text, reason=f"not a string ({size.value!r})")
    if not size.known and size_attr is None:
        size = Value(spot=block.spot, known=False, reason=f"{attribute} is not set")
    if rtype == "azurerm_orchestrated_virtual_machine_scale_set" and size.known and size.value == "Mix":
        size = Value(spot=size.spot, known=False, text=size.text,
                     reason="sku_name Mix without a literal sku_profile.vm_sizes list")

    def lit(name: str) -> str:
        v = _literal(block.attrs.get(name), env)
        return str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else ""

    zones = _literal(block.attrs.get("zones"), env)
    os_type = lit("os_type")
    unresolved = _unresolved_os(block, env, os_type) if kind is ResourceKind.AKS_NODEPOOL else ()
    if kind is ResourceKind.AKS_NODEPOOL and not os_type and not any(n == "os_type" for n, _ in unresolved):
        os_type = "Linux"
    if rtype in _WINDOWS_TYPES:
        os_type = "Windows"
    return Declaration(
        kind=kind,
        address=address,
        resource_type=rtype,
        attribute=attribute,
        size=size,
        pool=lit("name") if kind is ResourceKind.AKS_NODEPOOL else "",
        location=location,
        os_type=os_type,
        os_sku=lit("os_sku"),
        kubernetes_version=version,
        mode=lit("mode") or mode_default,
        zones=tuple(str(z) for z in zones) if isinstance(zones, list) else (),
        language="terraform",
        unresolved=unresolved,
    )


def _unresolved_os(block: Block, env: _Env, os_type: str) -> tuple[tuple[str, Value], ...]:
    """An AKS pool's os_type / os_sku written but not literal: named, since a Windows pool's
    gen1-node-image check depends on them (an absent os_type is Linux, the provider's default)."""
    out = []
    for name in ("os_type", "os_sku"):
        attr = block.attrs.get(name)
        if attr is None or (name == "os_sku" and os_type.lower() == "linux"):
            continue
        value = _value(attr, env, attr.spot)
        if value.known and (value.value is None or isinstance(value.value, str)):
            continue
        why = value.reason if not value.known else f"not a string ({value.value!r})"
        out.append((name, unresolved_value(name, value, why)))
    return tuple(out)


def unresolved_value(name: str, value: Value, why: str) -> Value:
    return Value(spot=value.spot, known=False, text=value.text,
                 reason=f"{why}; {name} decides whether this is a Windows pool on Generation 1: "
                        "the gen1-node-image check is not made for it")
