"""An approximate HTML preview of an Adaptive Card, for README images and eyeballing (not shipped).

    card_html(card) -> str             one AdaptiveCard dict (the `content` of an attachment)
    posts_html(posts, title="") -> str every card of a list of Teams webhook bodies, as the
                                       file channel writes them (`<id>.teams.json` -> "posts")

Teams draws cards itself; this only imitates its look closely enough to show what a digest says:
TextBlock (weight, size, color, isSubtle, fontType, the Markdown subset Teams reads: **bold**,
_italic_, [text](url), line breaks), Container (style, separator, spacing), FactSet, ColumnSet /
Column, Image, ActionSet and the card's actions (Action.OpenUrl as a button). An element type it
does not know is shown as a visible "[unsupported: TYPE]" box, never silently dropped. Every text
is HTML-escaped; only http(s) links become anchors. Pure: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

_COLORS = {"default": "#242424", "attention": "#c4314b", "warning": "#a35200", "good": "#237b4b",
           "accent": "#5b5fc7", "light": "#ffffff", "dark": "#242424"}
_SIZES = {"small": "12px", "default": "14px", "medium": "17px", "large": "21px", "extralarge": "26px"}
_SPACING = {"none": "0", "small": "4px", "default": "8px", "medium": "14px", "large": "22px",
            "extralarge": "30px", "padding": "16px"}

CSS = """
body { background: #f5f5f5; font-family: "Segoe UI", -apple-system, "Helvetica Neue", Arial, sans-serif;
       margin: 0; padding: 18px; color: #242424; }
.chat { max-width: 860px; }
.meta { font-size: 12px; color: #616161; margin: 0 0 6px 4px; }
.card { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 14px 16px;
        box-shadow: 0 1px 2px rgba(0,0,0,.08); margin-bottom: 18px; }
.tb { margin: 0; line-height: 1.4; overflow-wrap: anywhere; }
.tb.nowrap { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.subtle { opacity: .72; }
.mono { font-family: Consolas, "Cascadia Mono", "DejaVu Sans Mono", monospace; white-space: pre-wrap;
        background: #f7f7f7; padding: 4px 6px; border-radius: 3px; }
.container.emphasis { background: #f0f0f0; padding: 8px 10px; border-radius: 4px; }
.sep { border-top: 1px solid #e6e6e6; }
table.facts { border-collapse: collapse; font-size: 14px; margin: 2px 0; }
table.facts td { padding: 1px 12px 1px 0; vertical-align: top; line-height: 1.4; }
table.facts td.t { font-weight: 600; white-space: nowrap; }
.columns { display: flex; gap: 10px; }
.actions { display: flex; gap: 8px; margin-top: 12px; }
.btn { border: 1px solid #d1d1d1; border-radius: 4px; padding: 5px 12px; font-size: 14px;
       font-weight: 600; color: #242424; text-decoration: none; background: #fff; }
.unsupported { border: 1px dashed #c4314b; color: #c4314b; padding: 4px; font-size: 12px; }
a { color: #5b5fc7; text-decoration: none; }
"""

_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_(.+?)_(?!\w)")
_CODE = re.compile(r"`([^`\n]+)`")


def markdown(text: str) -> str:
    """The Markdown subset Adaptive Cards read, as escaped HTML."""
    out = html.escape(str(text), quote=True)

    def link(m: re.Match) -> str:
        label, url = m.group(1), html.unescape(m.group(2))
        if not re.match(r"^https?://", url):
            return m.group(0)
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    out = _LINK.sub(link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    out = _CODE.sub(r"<code>\1</code>", out)
    return out.replace("\n\n", "<br><br>").replace("\n", "<br>")


def _spacing(el: Mapping[str, Any], first: bool) -> str:
    if first:
        return ""
    gap = _SPACING.get(str(el.get("spacing", "default")).lower(), "8px")
    if el.get("separator"):
        return f"margin-top:{gap};padding-top:{gap};"
    return f"margin-top:{gap};"


def _element(el: Any, first: bool) -> str:
    if not isinstance(el, Mapping):
        return f'<div class="unsupported">[unsupported: {html.escape(type(el).__name__)}]</div>'
    kind = str(el.get("type", ""))
    style = _spacing(el, first)
    cls = "sep" if el.get("separator") and not first else ""
    if el.get("isVisible") is False:
        return ""
    if kind == "TextBlock":
        classes = ["tb", cls]
        if el.get("isSubtle"):
            classes.append("subtle")
        if str(el.get("fontType", "")).lower() == "monospace":
            classes.append("mono")
        if el.get("wrap") is False:
            classes.append("nowrap")
        css = style + f"font-size:{_SIZES.get(str(el.get('size', 'default')).lower(), '14px')};"
        css += f"color:{_COLORS.get(str(el.get('color', 'default')).lower(), '#242424')};"
        if str(el.get("weight", "")).lower() == "bolder":
            css += "font-weight:600;"
        return f'<p class="{" ".join(c for c in classes if c)}" style="{css}">{markdown(el.get("text", ""))}</p>'
    if kind == "RichTextBlock":
        runs = "".join(markdown(r.get("text", "")) if isinstance(r, Mapping) else markdown(r)
                       for r in el.get("inlines", []))
        return f'<p class="tb {cls}" style="{style}">{runs}</p>'
    if kind == "Container":
        extra = " emphasis" if str(el.get("style", "")).lower() in ("emphasis", "accent") else ""
        return f'<div class="container{extra} {cls}" style="{style}">{_elements(el.get("items", []))}</div>'
    if kind == "FactSet":
        rows = "".join(
            f'<tr><td class="t">{markdown(f.get("title", ""))}</td><td>{markdown(f.get("value", ""))}</td></tr>'
            for f in el.get("facts", []) if isinstance(f, Mapping))
        return f'<table class="facts {cls}" style="{style}">{rows}</table>'
    if kind == "ColumnSet":
        cols = []
        for col in el.get("columns", []):
            width = col.get("width", "stretch") if isinstance(col, Mapping) else "stretch"
            flex = "1" if str(width) in ("stretch", "") else ("0 0 auto" if width == "auto" else str(width))
            body = _elements(col.get("items", [])) if isinstance(col, Mapping) else _element(col, True)
            cols.append(f'<div style="flex:{html.escape(flex)}">{body}</div>')
        return f'<div class="columns {cls}" style="{style}">{"".join(cols)}</div>'
    if kind == "Image":
        url = str(el.get("url", ""))
        if not re.match(r"^(https?:|data:image/)", url):
            return ""
        alt = html.escape(str(el.get("altText", "")), quote=True)
        return f'<img src="{html.escape(url, quote=True)}" alt="{alt}" style="{style}max-width:100%">'
    if kind == "ActionSet":
        return f'<div style="{style}">{_actions(el.get("actions", []))}</div>'
    return f'<div class="unsupported" style="{style}">[unsupported: {html.escape(kind or "no type")}]</div>'


def _elements(items: Iterable[Any]) -> str:
    return "".join(_element(el, i == 0) for i, el in enumerate(items or []))


def _actions(actions: Iterable[Any]) -> str:
    out = []
    for a in actions or []:
        if not isinstance(a, Mapping):
            continue
        title = html.escape(str(a.get("title", a.get("type", ""))))
        url = str(a.get("url", ""))
        if a.get("type") == "Action.OpenUrl" and re.match(r"^https?://", url):
            out.append(f'<a class="btn" href="{html.escape(url, quote=True)}">{title}</a>')
        else:
            out.append(f'<span class="btn">{title}</span>')
    return f'<div class="actions">{"".join(out)}</div>' if out else ""


def card_body_html(card: Mapping[str, Any]) -> str:
    """One card as an HTML fragment (a div.card). Raises ValueError for something not a card."""
    if not isinstance(card, Mapping) or card.get("type") != "AdaptiveCard":
        got = card.get("type") if isinstance(card, Mapping) else type(card).__name__
        raise ValueError(f"card_preview: expected an AdaptiveCard object, got {got!r}")
    return f'<div class="card">{_elements(card.get("body", []))}{_actions(card.get("actions", []))}</div>'


def _page(title: str, inner: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f'<body><div class="chat">{inner}</div></body></html>\n')


def card_html(card: Mapping[str, Any], title: str = "Adaptive Card preview") -> str:
    """A whole HTML page showing one card."""
    return _page(title, card_body_html(card))


def cards_of(posts: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The Adaptive Cards inside Teams webhook bodies ({"type": "message", "attachments": [...]})."""
    cards = []
    for i, post in enumerate(posts):
        if not isinstance(post, Mapping) or not isinstance(post.get("attachments"), list):
            raise ValueError(f"card_preview: post {i} is not a Teams message with attachments")
        for att in post["attachments"]:
            if isinstance(att, Mapping) and att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                cards.append(att.get("content"))
    return cards


def posts_html(posts: Iterable[Any], title: str = "Teams card preview", sender: str = "") -> str:
    """Every card of a digest's webhook bodies, one under the other, as a Teams channel shows them."""
    cards = cards_of(posts)
    if not cards:
        raise ValueError("card_preview: no Adaptive Card in the posts")
    meta = f'<p class="meta">{html.escape(sender)}</p>' if sender else ""
    return _page(title, "".join(meta + card_body_html(c) for c in cards))
