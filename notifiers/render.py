"""What is said, to whom: Changes + what each recipient set was told -> [Message]. Pure.

No I/O except reading the packaged Jinja2 templates, no environment, no clock (`now` is an
argument), no azure.* import.

    route(finding, settings)            -> Routing: recipient sets + notes on tags it could not use
    due_stage(change, told, days)       -> (stage, kind) | None: what, if anything, is due
    plan(changes, told, settings)       -> Plan: notices per recipient set
    render(plan, settings, now)         -> [Message]: one digest per recipient set
    build_messages(...)                 -> the three above in one call

Stages a finding goes through for one recipient set (each told at most once):
    new | reopened  ->  escalated:<severity>  ->  reminder:<N days>  ->  retired:<weeks>  ->  resolved
Reminders fire when days left crosses a threshold (Settings.reminder_days) since the finding was
last told, and weekly once the retirement date has passed; suppressed findings get nothing.

Routing, most specific level that yields a usable recipient wins (as a whole, both channels):
    1. tags on the cluster / VM / scale set (ResourceRef.tags; resource-group tags too if the
       inventory ever merges them into ResourceRef.tags):
          retirement-scanner:teams=TEAMS_WEBHOOK_<NAME>[,TEAMS_WEBHOOK_<OTHER>]
          retirement-scanner:email=a@x.com,b@y.com
    2. NOTIFY_ROUTES entry for the resource group, then for the subscription
    3. TEAMS_WEBHOOK_URL and EMAIL_TO
A tag never holds a URL: it names a TEAMS_WEBHOOK_* setting, which holds the URL (a secret).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from notifiers import Message, Recipient, Told
from scanner.config import WEBHOOK_SETTING_PREFIX, Settings
from scanner.core.model import Change, Finding, ResourceKind, Severity, Status
from scanner.core.schema import findings_csv

TAG_TEAMS = "retirement-scanner:teams"
TAG_EMAIL = "retirement-scanner:email"

# Teams: a Workflows webhook refuses cards over ~28 KB. Pack to TARGET, never exceed HARD_LIMIT.
CARD_HARD_LIMIT = 27_000
CARD_TARGET = 24_000
SUMMARY_RESERVE = 4_000
MAX_TEAMS_POSTS = 4
MAX_EMAIL_DETAIL = 300  # findings shown in full in an email body; all of them are in the CSV
MAX_COMMAND_CHARS = 1_500
# When a digest would need several posts, these command budgets are tried for one post.
COMPACT_COMMAND_CHARS = (900, 0)

_EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")

KIND_ORDER = {"new": 0, "reopened": 0, "escalated": 1, "reminder": 2, "retired": 2, "resolved": 3}
COUNT_NAMES = {"new": "new", "reopened": "new", "escalated": "escalated", "reminder": "reminder",
               "retired": "reminder", "resolved": "resolved"}


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class Routing:
    recipients: tuple[Recipient, ...]
    notes: tuple[str, ...] = ()
    source: str = "default"  # "tags" | "route:<key>" | "default" | "none"


def _tag(tags: Mapping[str, str], name: str) -> str | None:
    for key, value in (tags or {}).items():
        if str(key).strip().lower() == name:
            return str(value)
    return None


def _email_recipient(addresses: Iterable[str]) -> Recipient | None:
    clean = sorted({a.strip().lower() for a in addresses if a.strip()})
    return Recipient("email", ",".join(clean)) if clean else None


def _teams_names(names: Iterable[str], settings: Settings, where: str, notes: list[str]) -> list[Recipient]:
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if "://" in name:
            notes.append(f"{where}: holds a URL, which is ignored; name a {WEBHOOK_SETTING_PREFIX}* setting")
        elif not (name.startswith(WEBHOOK_SETTING_PREFIX) or name == "TEAMS_WEBHOOK_URL"):
            notes.append(f"{where}: {name!r} is not a {WEBHOOK_SETTING_PREFIX}* setting name")
        elif not settings.webhook(name):
            notes.append(f"{where}: setting {name} is not set")
        else:
            out.append(Recipient("teams", name))
    return out


def _emails(text: str, where: str, notes: list[str]) -> list[str]:
    good = []
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        if _EMAIL_RE.match(part):
            good.append(part)
        else:
            notes.append(f"{where}: {part!r} is not an email address")
    return good


def route(finding: Finding, settings: Settings) -> Routing:
    """Recipient sets for one finding (see the module docstring for the order)."""
    res = finding.resource
    notes: list[str] = []
    teams_tag, email_tag = _tag(res.tags, TAG_TEAMS), _tag(res.tags, TAG_EMAIL)
    if teams_tag is not None or email_tag is not None:
        where = f"resource {res.id}: tag"
        found = _teams_names((teams_tag or "").split(","), settings, f"{where} {TAG_TEAMS}", notes)
        mail = _email_recipient(_emails(email_tag or "", f"{where} {TAG_EMAIL}", notes))
        found += [mail] if mail else []
        if found:
            return Routing(tuple(found), tuple(notes), "tags")
        notes.append(f"resource {res.id}: routing tags name no usable recipient; using the next rule")
    sub = f"/subscriptions/{res.subscription_id.lower()}"
    keys = [f"{sub}/resourcegroups/{res.resource_group.lower()}"] if res.resource_group else []
    for key in keys + [sub]:
        r = settings.routes.get(key)
        if r is None:
            continue
        found = _teams_names(r.teams, settings, f"NOTIFY_ROUTES[{key!r}].teams", notes)
        mail = _email_recipient(r.email)
        found += [mail] if mail else []
        if found:
            return Routing(tuple(found), tuple(notes), f"route:{key}")
    found = [Recipient("teams", "TEAMS_WEBHOOK_URL")] if settings.teams_webhook_url else []
    mail = _email_recipient(settings.email_to)
    found += [mail] if mail else []
    return Routing(tuple(found), tuple(notes), "default" if found else "none")


# --------------------------------------------------------------------------- what is due


def _rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return -1


def due_stage(change: Change, told: Told | None, reminder_days: Iterable[int]) -> tuple[str, str] | None:
    """The stage to tell now for this change, given what was last told, or None.

    Returns (stage, kind): stage is the key recorded as told ("reminder:90"), kind is one of
    new, reopened, escalated, reminder, retired, resolved.
    """
    f = change.finding
    if change.kind == "resolved":
        if told is not None and told.stage != "resolved":
            return ("resolved", "resolved")
        return None
    if f.status in (Status.SUPPRESSED, Status.RESOLVED):
        return None
    if told is None:
        return ("new", "new")
    if told.stage == "resolved":
        return ("reopened", "reopened")
    if told.severity and f.severity.rank > _rank(told.severity):
        return (f"escalated:{f.severity.value}", "escalated")
    dl = f.days_left
    if dl is None or told.days_left is None:
        return None
    if dl <= 0:
        week = (-dl) // 7
        if told.days_left > 0 or (-told.days_left) // 7 < week:
            return (f"retired:{week}", "retired")
        return None
    crossed = [n for n in reminder_days if dl <= n < told.days_left]
    if crossed:
        return (f"reminder:{min(crossed)}", "reminder")
    return None


@dataclass(frozen=True)
class Notice:
    """One thing to tell one recipient set about one finding."""

    finding: Finding
    stage: str
    kind: str
    previous_severity: str = ""


@dataclass(frozen=True)
class Plan:
    by_recipient: dict[Recipient, tuple[Notice, ...]]
    notes: tuple[str, ...] = ()
    unroutable: int = 0  # findings with something due but nobody to tell


def plan(
    changes: Iterable[Change],
    told: Mapping[str, Mapping[str, Told]],
    settings: Settings,
    channels: Iterable[str] = ("teams", "email"),
) -> Plan:
    """Notices due per recipient set. `told` maps recipient key -> finding id -> Told.

    A resolution goes to every recipient set that was told about the finding (wherever it is
    routed today); everything else follows `route`. Channels not in `channels` are left out.
    """
    allowed = set(channels)
    out: dict[Recipient, list[Notice]] = {}
    notes: list[str] = []
    seen_notes: set[str] = set()
    unroutable = 0
    for change in changes:
        f = change.finding
        if change.kind == "resolved":
            targets = [Recipient.from_key(k) for k, rows in told.items() if f.id in rows]
        else:
            routing = route(f, settings)
            for n in routing.notes:
                if n not in seen_notes:
                    seen_notes.add(n)
                    notes.append(n)
            targets = list(routing.recipients)
        targets = [t for t in targets if t.channel in allowed]
        for rcpt in targets:
            prev = told.get(rcpt.key, {}).get(f.id)
            due = due_stage(change, prev, settings.reminder_days)
            if due is None:
                continue
            prev_sev = change.previous_severity.value if change.previous_severity else (prev.severity if prev else "")
            out.setdefault(rcpt, []).append(Notice(f, due[0], due[1], prev_sev))
        if not targets and change.kind != "resolved" and due_stage(change, None, ()) is not None:
            unroutable += 1
    if unroutable:
        notes.append(f"{unroutable} finding(s) have no recipient: set TEAMS_WEBHOOK_URL or EMAIL_TO, "
                     "NOTIFY_ROUTES, or retirement-scanner:* tags")
    ordered = {r: tuple(sorted(ns, key=_urgency)) for r, ns in sorted(out.items(), key=lambda kv: kv[0].key)}
    return Plan(ordered, tuple(notes), unroutable)


def _urgency(n: Notice) -> tuple:
    f = n.finding
    return (n.kind == "resolved", -f.severity.rank, f.days_left if f.days_left is not None else 10**6,
            f.resource.name.lower(), f.resource.pool.lower(), f.vm_size.lower(), f.id)


# --------------------------------------------------------------------------- view model


def _portal_link(settings: Settings, f: Finding) -> str:
    base = (settings.portal_url or "https://portal.azure.com").rstrip("/")
    suffix = "/nodePools" if f.resource.kind == ResourceKind.AKS_NODEPOOL else "/overview"
    return f"{base}/#resource{f.resource.id}{suffix}"


_KIND_WORD = {ResourceKind.AKS_NODEPOOL: "AKS cluster", ResourceKind.VM: "VM", ResourceKind.VMSS: "Scale set"}


def _label(n: Notice) -> str:
    f = n.finding
    if n.kind == "escalated":
        before = n.previous_severity.upper() if n.previous_severity else "?"
        return f"ESCALATED {before} → {f.severity.value.upper()}"
    if n.kind == "reminder":
        return f"REMINDER: {n.stage.split(':', 1)[1]} days"
    if n.kind == "retired":
        weeks = int(n.stage.split(":", 1)[1])
        return "RETIRED" + (f" ({weeks} week{'s' if weeks != 1 else ''} ago)" if weeks else "")
    return n.kind.upper()


def _days_text(days: int | None) -> str:
    if days is None:
        return "no retirement date"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    if days == 0:
        return "retires today"
    return f"retired {-days} day{'s' if days != -1 else ''} ago"


def _view(n: Notice, settings: Settings) -> dict[str, Any]:
    f = n.finding
    r = f.retirement
    rep = f.replacement
    commands = list(f.commands)
    return {
        "id": f.id,
        "stage": n.stage,
        "kind": n.kind,
        "label": _label(n),
        "severity": f.severity.value,
        "rule": f.rule.value,
        "resource_kind": f.resource.kind.value,
        "resource": f.resource.name,
        "resource_id": f.resource.id,
        "subscription_id": f.resource.subscription_id,
        "resource_group": f.resource.resource_group,
        "location": f.resource.location,
        "pool": f.resource.pool,
        "vm_size": f.vm_size,
        "restricted": f.restricted,
        "message": f.message,
        "retirement_id": r.id if r else "",
        "retirement_title": r.title if r else "",
        "retires_on": r.retires_on.isoformat() if r else "",
        "days_left": f.days_left,
        "days_text": _days_text(f.days_left),
        "replacement": rep.vm_size if rep else "",
        "replacement_why": rep.why if rep else "",
        "alternatives": list(rep.alternatives) if rep else [],
        "commands": commands,
        "announcement": next((u for u in (r.urls if r else ()) if re.match(r"^https?://", u)), ""),
        "portal": _portal_link(settings, f),
        "same_as": "",  # rule of an earlier finding on this pool with the same commands (see _groups)
        "cost": _cost_text(f),
        "quota": _quota_text(f),
    }


def _cost_text(f: Finding) -> str:
    """'USD 908.19/month now, 1,016.32 after the move (+108.13)' (issue 13); "" without a cost."""
    c = f.cost
    if c is None:
        return ""
    if c.current_monthly is None:
        return f"price not found ({c.note})" if c.note else ""
    text = f"{c.currency} {c.current_monthly:,.2f}/month now ({c.nodes} node(s))"
    if c.replacement_monthly is not None:
        sign = "+" if c.delta_monthly >= 0 else "-"
        text += f", {c.replacement_monthly:,.2f} after the move ({sign}{abs(c.delta_monthly):,.2f})"
    return text


def _quota_text(f: Finding) -> str:
    """The replacement's family quota when it has no room for the move (issue 13)."""
    q = f.replacement_quota
    if q is None or q.fits:
        return ""
    return (f"{q.family}: the new pool needs {q.needed} vCPUs, {q.free} free; ask for a limit of "
            f"{q.family_limit + q.short_of} (command in the finding)")


def _groups(notices: Iterable[Notice], settings: Settings) -> list[dict[str, Any]]:
    """Group by cluster (or VM / scale set), most urgent group first (notices arrive sorted)."""
    groups: dict[str, dict[str, Any]] = {}
    for n in notices:
        res = n.finding.resource
        key = res.id.lower()
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "key": key,
                "title": f"{_KIND_WORD.get(res.kind, res.kind.value)} {res.name}",
                "where": f"{res.resource_group} · {res.subscription_id} · {res.location}",
                "items": [],
            }
        g["items"].append(_view(n, settings))
    for g in groups.values():  # one pool, two rules, one rebuild: its commands are shown once
        seen: dict[tuple, str] = {}
        for v in g["items"]:
            key = (v["pool"], tuple(v["commands"]))
            if v["commands"] and v["kind"] != "resolved" and key in seen:
                v["same_as"], v["commands"] = seen[key], []
            elif v["commands"]:
                seen.setdefault(key, v["rule"])
    return list(groups.values())


def _counts(notices: Iterable[Notice]) -> dict[str, int]:
    counts = {"new": 0, "escalated": 0, "reminder": 0, "resolved": 0}
    for n in notices:
        counts[COUNT_NAMES[n.kind]] += 1
    return counts


def _summary(counts: Mapping[str, int]) -> str:
    words = {"new": "new", "escalated": "escalated", "reminder": "reminder", "resolved": "resolved"}
    parts = []
    for k, word in words.items():
        c = counts.get(k, 0)
        if c:
            parts.append(f"{c} {word}{'s' if word == 'reminder' and c != 1 else ''}")
    return ", ".join(parts) or "nothing"


# --------------------------------------------------------------------------- Teams cards


def payload_bytes(payload: Any) -> int:
    """Size of a payload exactly as notifiers.teams sends it (compact UTF-8 JSON)."""
    return len(encode_json(payload))


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _envelope(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


_COLOR = {"critical": "Attention", "high": "Attention", "medium": "Warning", "low": "Default", "info": "Default"}


def _finding_element(v: dict[str, Any], max_command_chars: int = MAX_COMMAND_CHARS) -> dict[str, Any]:
    if callable(max_command_chars):
        max_command_chars = max_command_chars(v)
    where = f"pool **{v['pool']}** · " if v["pool"] else ""
    head = f"**{v['label']}** · {v['severity'].upper()} · {where}{v['vm_size']}"
    items: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": head, "wrap": True,
         "color": "Good" if v["kind"] == "resolved" else _COLOR.get(v["severity"], "Default")},
    ]
    if v["kind"] == "resolved":
        items.append({"type": "TextBlock", "wrap": True, "isSubtle": True,
                      "text": f"No longer found on {v['vm_size']}" + (f" ({v['retirement_title']})"
                                                                      if v["retirement_title"] else "")})
        return {"type": "Container", "separator": True, "items": items}
    facts = []
    if v["retires_on"]:
        facts.append({"title": "Retires", "value": f"{v['retires_on']} ({v['days_text']})"})
    if v["retirement_title"]:
        facts.append({"title": "Retirement", "value": v["retirement_title"]})
    # with a retirement the facts above say it, except for rules whose point is elsewhere
    if v["message"] and (not v["retirement_title"] or v["rule"] in ("capacity-restricted", "retiring-node-os")):
        facts.append({"title": "Finding", "value": v["message"]})
    if v["replacement"]:
        rep = v["replacement"] + (f": {v['replacement_why']}" if v["replacement_why"] else "")
        if v["alternatives"]:
            rep += f" (or {', '.join(v['alternatives'][:3])})"
        facts.append({"title": "Move to", "value": rep})
    if v["restricted"]:
        facts.append({"title": "Note", "value": "size is restricted here: the autoscaler cannot add nodes"})
    if v.get("quota"):
        facts.append({"title": "Quota", "value": v["quota"]})
    if v.get("cost"):
        facts.append({"title": "Cost", "value": v["cost"]})
    if facts:
        items.append({"type": "FactSet", "facts": facts})
    if v.get("same_as"):
        items.append({"type": "TextBlock", "wrap": True, "isSubtle": True, "size": "Small",
                      "text": f"Same commands as the {v['same_as']} finding of this pool: one rebuild fixes both"})
    if v["commands"]:
        shown, used = [], 0
        for cmd in v["commands"]:  # whole commands only: a cut command must never be copied and run
            if used + len(cmd) > max_command_chars:
                break
            shown.append(cmd)
            used += len(cmd)
        if shown:
            items.append({"type": "TextBlock", "text": "\n\n".join(shown), "wrap": True,
                          "fontType": "Monospace", "size": "Small"})
        if len(shown) < len(v["commands"]):
            items.append({"type": "TextBlock", "wrap": True, "isSubtle": True, "size": "Small",
                          "text": f"{len(v['commands']) - len(shown)} more command(s) in the email and the report"})
    links = []
    if v["announcement"]:
        links.append(f"[Announcement]({v['announcement']})")
    links.append(f"[Open in portal]({v['portal']})")
    items.append({"type": "TextBlock", "text": " · ".join(links), "wrap": True, "size": "Small"})
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


def _group_header(g: dict[str, Any], continued: bool = False) -> dict[str, Any]:
    return {"type": "Container", "style": "emphasis", "spacing": "Large", "items": [
        {"type": "TextBlock", "text": g["title"] + (" (continued)" if continued else ""),
         "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": g["where"], "isSubtle": True, "size": "Small", "wrap": True},
    ]}


def _size(obj: Any) -> int:
    return payload_bytes(obj) + 1  # + the comma that joins it to its neighbour


def _overflow_element(rest: list[tuple[dict, dict]], report_url: str) -> dict[str, Any]:
    sev: dict[str, int] = {}
    per_group: dict[str, list] = {}
    for g, v in rest:
        sev[v["severity"]] = sev.get(v["severity"], 0) + 1
        per_group.setdefault(g["key"], [g["title"], 0])[1] += 1
    sev_text = ", ".join(f"{sev[s.value]} {s.value}" for s in Severity if s.value in sev)
    text = (f"**{len(rest)} more finding(s) in {len(per_group)} resource(s) are not shown here** "
            f"({sev_text}).")
    text += f" The full list is in the [report]({report_url})." if report_url else \
        " Run `python -m scanner scan` or open the report endpoint for the full list."
    facts = [{"title": title[:80], "value": f"{count} finding(s)"} for title, count in list(per_group.values())[:15]]
    items: list[dict[str, Any]] = [{"type": "TextBlock", "text": text, "wrap": True}]
    if facts:
        items.append({"type": "FactSet", "facts": facts})
    if len(per_group) > 15:
        items.append({"type": "TextBlock", "text": f"… and {len(per_group) - 15} more resources",
                      "isSubtle": True, "wrap": True})
    return {"type": "Container", "separator": True, "spacing": "Large", "items": items}


def teams_posts(
    groups: list[dict[str, Any]],
    title: str,
    report_url: str = "",
    *,
    max_posts: int = MAX_TEAMS_POSTS,
    target: int = CARD_TARGET,
    hard_limit: int = CARD_HARD_LIMIT,
    notes: Iterable[str] = (),
    max_command_chars: int | Callable[[dict[str, Any]], int] = MAX_COMMAND_CHARS,
) -> tuple[dict[str, Any], ...]:
    """Webhook bodies for one digest: split over up to `max_posts` posts, each under `hard_limit`
    bytes; what does not fit is summarised (counts per severity and resource, report link).
    `max_command_chars` is a number, or a function of a finding's view giving its own number."""
    actions = [{"type": "Action.OpenUrl", "title": "Open the report", "url": report_url}] if report_url else []
    notes = list(notes)[:5]

    def header(i: int, n: int) -> list[dict[str, Any]]:
        suffix = f" ({i} of {n})" if n > 1 else ""
        body = [{"type": "TextBlock", "text": title + suffix, "weight": "Bolder", "size": "Medium", "wrap": True}]
        if i == 1:
            body += [{"type": "TextBlock", "text": f"⚠ {note[:300]}", "wrap": True, "isSubtle": True,
                      "size": "Small"} for note in notes]
        return body

    overhead = payload_bytes(_envelope(_card(header(1, 99), actions)))
    room = target - overhead - SUMMARY_RESERVE
    blocks: list[tuple[dict, dict, dict]] = []  # (group, view, element)
    for g in groups:
        for v in g["items"]:
            el = _finding_element(v, max_command_chars)
            if _size(el) > room:  # one finding bigger than a post: trim it (never fail)
                el = _finding_element(v, max_command_chars=300)
            if _size(el) > room:
                el = _finding_element({**v, "commands": [], "message": v["message"][:300],
                                       "retirement_title": v["retirement_title"][:200]})
            blocks.append((g, v, el))

    posts: list[list[dict[str, Any]]] = []
    i = 0
    while i < len(blocks) and len(posts) < max_posts:
        last = len(posts) == max_posts - 1
        budget = target - (SUMMARY_RESERVE if last else 0)
        cur: list[dict[str, Any]] = []
        size = overhead
        current_group = None
        while i < len(blocks):
            g, _v, el = blocks[i]
            add = _size(el)
            head = None
            if g["key"] != current_group:
                head = _group_header(g, continued=bool(posts) and not cur and i > 0 and blocks[i - 1][0] is g)
                add += _size(head)
            if cur and size + add > budget:
                break
            if head is not None:
                cur.append(head)
                current_group = g["key"]
            cur.append(el)
            size += add
            i += 1
        posts.append(cur)
    rest = [(g, v) for g, v, _el in blocks[i:]]
    if not posts:
        posts.append([])
    if rest:
        posts[-1].append(_overflow_element(rest, report_url))

    n = len(posts)
    out = []
    for idx, body in enumerate(posts, start=1):
        payload = _envelope(_card(header(idx, n) + body, actions if idx == n else []))
        while payload_bytes(payload) > hard_limit and len(body) > 1:  # safety net; packing avoids it
            body = body[:-2] + [body[-1]] if len(body) > 2 else body[:-1]
            payload = _envelope(_card(header(idx, n) + body, actions if idx == n else []))
        out.append(payload)
    return tuple(out)


# --------------------------------------------------------------------------- email


def _html_template(name: str | None) -> bool:
    return bool(name) and name.endswith((".html.j2", ".html"))


@lru_cache(maxsize=1)
def _jinja():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        # Only the HTML part is escaped: the plain-text part carries commands people paste into a
        # shell, where `&#39;*&#39;` would background the command and `&gt;=` would redirect.
        autoescape=_html_template,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def email_bodies(groups: list[dict[str, Any]], title: str, summary: str, report_url: str,
                 notes: Iterable[str], now: datetime, max_detail: int = MAX_EMAIL_DETAIL) -> tuple[str, str]:
    """(plain text, HTML) of one digest. Beyond `max_detail` findings, groups are only counted."""
    shown, left, hidden = [], max_detail, 0
    for g in groups:
        take = g["items"][: max(left, 0)]
        left -= len(take)
        hidden += len(g["items"]) - len(take)
        if take:
            shown.append({**g, "items": take})
    ctx = {"title": title, "summary": summary, "groups": shown, "hidden": hidden, "report_url": report_url,
           "notes": list(notes), "generated": now.strftime("%Y-%m-%d %H:%M UTC")}
    env = _jinja()
    return env.get_template("digest.txt.j2").render(ctx), env.get_template("digest.html.j2").render(ctx)


# --------------------------------------------------------------------------- messages


def message_id(recipient: Recipient, stages: Iterable[tuple], now: datetime) -> str:
    h = hashlib.sha256()
    h.update(recipient.key.encode("utf-8"))
    h.update(now.isoformat().encode("utf-8"))
    for s in sorted(stages, key=lambda s: (s[0], s[1])):
        h.update(f"|{s[0]}:{s[1]}".encode())
    return h.hexdigest()[:32]


def render(p: Plan, settings: Settings, now: datetime) -> list[Message]:
    """One Message per recipient set with something to say; nothing to say means no message."""
    messages = []
    report_url = settings.report_base_url
    for rcpt, notices in p.by_recipient.items():
        if not notices:
            continue
        groups = _groups(notices, settings)
        counts = _counts(notices)
        summary = _summary(counts)
        urgent = [n.finding.days_left for n in notices if n.kind != "resolved" and n.finding.days_left is not None]
        soonest = f"; soonest: {_days_text(min(urgent))}" if urgent else ""
        subject = f"VM size retirements: {summary} in {len(groups)} resource(s){soonest}"
        stages = tuple((n.finding.id, n.stage, n.finding.severity.value, n.finding.days_left) for n in notices)
        mid = message_id(rcpt, stages, now)
        notes = [n for n in p.notes if _note_concerns(n, notices)]
        if rcpt.channel == "teams":
            posts = teams_posts(groups, subject, report_url, notes=notes)
            if len(posts) > 1:
                # One card beats two: keep the commands of the most urgent findings in the card and
                # leave the rest to the email and the report; failing that, fewer commands for all.
                limits = [_urgent_first_limits(groups, subject, report_url, notes), *COMPACT_COMMAND_CHARS]
                for limit in limits:
                    compact = teams_posts(groups, subject, report_url, notes=notes, max_command_chars=limit)
                    if len(compact) == 1:
                        posts = compact
                        break
            messages.append(Message(mid, rcpt, subject, stages, counts, teams_posts=posts))
        else:
            text, html = email_bodies(groups, subject, summary, report_url, notes, now)
            # The attachment has the one CSV layout of every findings CSV (scanner.core.schema).
            messages.append(Message(mid, rcpt, subject, stages, counts, text=text, html=html,
                                    csv=findings_csv(n.finding for n in notices)))
    return messages


def _urgent_first_limits(groups, subject, report_url, notes) -> Callable[[dict[str, Any]], int]:
    """Per-finding command budget for a one-post card: findings without commands first, then the
    commands of the most urgent findings (severity, then fewest days left) while they fit."""
    views = [v for g in groups for v in g["items"]]
    overhead = payload_bytes(teams_posts([], subject, report_url, notes=notes)[0])
    budget = CARD_TARGET - overhead
    used = sum(_size(_finding_element(v, 0)) for v in views) + sum(_size(_group_header(g)) for g in groups)
    rank = {s.value: s.rank for s in Severity}
    keep: set[str] = set()
    for v in sorted(views, key=lambda v: (-rank.get(v["severity"], 0),
                                          v["days_left"] if v["days_left"] is not None else 10**6)):
        if not v["commands"] or v["kind"] == "resolved":
            continue
        extra = _size(_finding_element(v, MAX_COMMAND_CHARS)) - _size(_finding_element(v, 0))
        if used + extra <= budget:
            keep.add(v["id"])
            used += extra
    return lambda v: MAX_COMMAND_CHARS if v["id"] in keep else 0


def _note_concerns(note: str, notices: Iterable[Notice]) -> bool:
    """Routing notes go to the digests that carry the resource they are about (or to all)."""
    m = re.match(r"resource (\S+):", note)
    if not m:
        return True
    rid = m.group(1).lower()
    return any(n.finding.resource.id.lower() == rid for n in notices)


@dataclass(frozen=True)
class Rendered:
    messages: list[Message] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    unroutable: int = 0


def build_messages(
    changes: Iterable[Change],
    told: Mapping[str, Mapping[str, Told]],
    settings: Settings,
    now: datetime,
    channels: Iterable[str] = ("teams", "email"),
) -> Rendered:
    p = plan(changes, told, settings, channels)
    return Rendered(render(p, settings, now), p.notes, p.unroutable)
