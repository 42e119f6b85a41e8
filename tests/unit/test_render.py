"""notifiers.render: what is due, to whom, and how it reads (pure)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest

from notifiers import Message, Recipient, Told
from notifiers.render import (
    CARD_HARD_LIMIT,
    MAX_TEAMS_POSTS,
    build_messages,
    due_stage,
    payload_bytes,
    plan,
    route,
)
from scanner.config import Settings
from scanner.core.model import Change, Finding, ResourceKind, Severity, Status
from tests import factories

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
SUB = "11111111-2222-3333-4444-555555555555"
HOOK = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=TOPSECRETSIG"
OTHER_HOOK = "https://prod-02.westeurope.logic.azure.com/workflows/def/triggers/manual/paths/invoke?sig=OTHERSIG"
DV2 = factories.retirement(title="Dv2 and DSv2 series retire", urls=(factories.DV2_URL,))


def settings(**env) -> Settings:
    base = {"TEAMS_WEBHOOK_URL": HOOK, "EMAIL_TO": "platform@example.com",
            "TEAMS_WEBHOOK_PAYMENTS": OTHER_HOOK, "REPORT_BASE_URL": "https://scanner.example.net/api/report"}
    base.update(env)
    return Settings.from_env({k: v for k, v in base.items() if v is not None})


def finding(cluster="aks-prod", pool="np1", size="Standard_D4_v2", severity=Severity.HIGH, days_left=80,
            tags=None, rg="rg-prod", kind=ResourceKind.AKS_NODEPOOL, status=Status.OPEN, commands=None,
            sub=SUB) -> Finding:
    return factories.finding(cluster, pool, kind=kind, sub=sub, rg=rg, tags=tags, severity=severity, size=size,
                             retirement=DV2, days_left=days_left, replacement="Standard_D4s_v5",
                             why="same vCPUs and memory, Gen2 capable", commands=commands, status=status)


TEAMS = Recipient("teams", "TEAMS_WEBHOOK_URL")
MAIL = Recipient("email", "platform@example.com")


# --------------------------------------------------------------------------- stages

STAGE_CASES = [
    # (id, change kind, told, severity, days_left, status, expected)
    ("never-told-is-new", "new", None, Severity.HIGH, 80, Status.NEW, ("new", "new")),
    ("unchanged-but-never-told-is-new", "unchanged", None, Severity.HIGH, 80, Status.OPEN, ("new", "new")),
    ("told-and-quiet", "unchanged", Told("new", "high", 80), Severity.HIGH, 79, Status.OPEN, None),
    ("crosses-90", "unchanged", Told("new", "medium", 91), Severity.MEDIUM, 90, Status.OPEN,
     ("reminder:90", "reminder")),
    ("crosses-several-tells-lowest", "unchanged", Told("new", "high", 40), Severity.HIGH, 13, Status.OPEN,
     ("reminder:14", "reminder")),
    ("reminder-told-once", "unchanged", Told("reminder:90", "medium", 90), Severity.MEDIUM, 89, Status.OPEN, None),
    ("escalated", "escalated", Told("new", "medium", 100), Severity.HIGH, 89, Status.ESCALATED,
     ("escalated:high", "escalated")),
    ("escalation-already-told", "unchanged", Told("escalated:high", "high", 89), Severity.HIGH, 88, Status.OPEN,
     None),
    ("retired-day-0", "unchanged", Told("reminder:1", "critical", 1), Severity.CRITICAL, 0, Status.OPEN,
     ("retired:0", "retired")),
    ("retired-same-week", "unchanged", Told("retired:0", "critical", 0), Severity.CRITICAL, -6, Status.OPEN, None),
    ("retired-next-week", "unchanged", Told("retired:0", "critical", -6), Severity.CRITICAL, -7, Status.OPEN,
     ("retired:1", "retired")),
    ("resolved-after-told", "resolved", Told("new", "high", 80), Severity.HIGH, 70, Status.RESOLVED,
     ("resolved", "resolved")),
    ("resolved-never-told", "resolved", None, Severity.HIGH, 70, Status.RESOLVED, None),
    ("resolved-twice", "resolved", Told("resolved", "high", 70), Severity.HIGH, 69, Status.RESOLVED, None),
    ("reopened", "reopened", Told("resolved", "high", 70), Severity.HIGH, 60, Status.OPEN,
     ("reopened", "reopened")),
    ("suppressed-gets-nothing", "unchanged", Told("new", "high", 91), Severity.HIGH, 90, Status.SUPPRESSED, None),
    ("no-date-no-reminder", "unchanged", Told("new", "low", None), Severity.LOW, None, Status.OPEN, None),
]


@pytest.mark.parametrize("kind,told,severity,days_left,status,expected",
                         [c[1:] for c in STAGE_CASES], ids=[c[0] for c in STAGE_CASES])
def test_due_stage(kind, told, severity, days_left, status, expected):
    f = finding(severity=severity, days_left=days_left, status=status)
    assert due_stage(Change(kind, f), told, (180, 90, 30, 14, 7, 1)) == expected


# --------------------------------------------------------------------------- routing

ROUTE_CASES = [
    ("default", {}, {}, ["email:platform@example.com", "teams:TEAMS_WEBHOOK_URL"], 0),
    ("teams-tag", {"retirement-scanner:teams": "TEAMS_WEBHOOK_PAYMENTS"}, {}, ["teams:TEAMS_WEBHOOK_PAYMENTS"], 0),
    ("tag-key-any-case", {"Retirement-Scanner:Email": "Ops@Example.com; b@example.com"}, {},
     ["email:b@example.com,ops@example.com"], 0),
    ("tag-naming-unset-setting-falls-back", {"retirement-scanner:teams": "TEAMS_WEBHOOK_NOPE"}, {},
     ["email:platform@example.com", "teams:TEAMS_WEBHOOK_URL"], 2),
    ("tag-holding-url-ignored", {"retirement-scanner:teams": "https://evil.example/hook"}, {},
     ["email:platform@example.com", "teams:TEAMS_WEBHOOK_URL"], 2),
    ("tag-naming-other-secret-refused", {"retirement-scanner:teams": "AzureWebJobsStorage"}, {},
     ["email:platform@example.com", "teams:TEAMS_WEBHOOK_URL"], 2),
    ("bad-address-dropped-good-kept", {"retirement-scanner:email": "nope,ok@example.com"}, {},
     ["email:ok@example.com"], 1),
    ("subscription-route", {}, {f"/subscriptions/{SUB}": {"email": "sub@example.com"}}, ["email:sub@example.com"], 0),
    ("resource-group-route-beats-subscription", {},
     {f"/subscriptions/{SUB}": {"email": "sub@example.com"},
      f"/subscriptions/{SUB}/resourceGroups/RG-PROD": {"teams": "TEAMS_WEBHOOK_PAYMENTS"}},
     ["teams:TEAMS_WEBHOOK_PAYMENTS"], 0),
    ("tags-beat-routes", {"retirement-scanner:email": "owner@example.com"},
     {f"/subscriptions/{SUB}": {"email": "sub@example.com"}}, ["email:owner@example.com"], 0),
]


@pytest.mark.parametrize("tags,routes,expected,n_notes", [c[1:] for c in ROUTE_CASES],
                         ids=[c[0] for c in ROUTE_CASES])
def test_route(tags, routes, expected, n_notes):
    s = settings(NOTIFY_ROUTES=json.dumps(routes) if routes else None)
    r = route(finding(tags=tags), s)
    assert sorted(x.key for x in r.recipients) == expected
    assert len(r.notes) == n_notes
    for note in r.notes:
        assert "evil.example" not in note and "TOPSECRETSIG" not in note


def test_no_recipients_configured_is_counted_not_lost():
    s = Settings.from_env({})
    p = plan([Change("new", finding())], {}, s)
    assert p.by_recipient == {} and p.unroutable == 1
    assert any("no recipient" in n for n in p.notes)


def test_channel_without_transport_is_left_out():
    p = plan([Change("new", finding())], {}, settings(), channels=("teams",))
    assert list(p.by_recipient) == [TEAMS]


# --------------------------------------------------------------------------- plan across runs


def told_from(messages: list[Message]) -> dict[str, dict[str, Told]]:
    out: dict[str, dict[str, Told]] = {}
    for m in messages:
        for fid, stage, sev, dl in m.stages:
            out.setdefault(m.recipient.key, {})[fid] = Told(stage, sev, dl, m.id)
    return out


def test_identical_next_run_says_nothing_and_crossing_90_says_one_reminder():
    s = settings()
    first = build_messages([Change("new", finding(days_left=92))], {}, s, NOW).messages
    assert {m.recipient for m in first} == {TEAMS, MAIL}
    told = told_from(first)
    assert build_messages([Change("unchanged", finding(days_left=91))], told, s, NOW).messages == []
    third = build_messages([Change("unchanged", finding(days_left=90))], told, s, NOW).messages
    assert [m.counts["reminder"] for m in third] == [1, 1]
    assert all(m.stages[0][1] == "reminder:90" for m in third)


def test_resolution_goes_to_whoever_was_told_even_if_routing_changed():
    s = settings()
    f = finding()
    told = {"teams:TEAMS_WEBHOOK_PAYMENTS": {f.id: Told("new", "high", 80, "m1")}}
    msgs = build_messages([Change("resolved", finding(tags={"retirement-scanner:email": "x@example.com"}))],
                          told, s, NOW).messages
    assert [(m.recipient.key, m.counts["resolved"]) for m in msgs] == [("teams:TEAMS_WEBHOOK_PAYMENTS", 1)]


def test_one_digest_per_recipient_set_grouped_by_cluster_most_urgent_first():
    s = settings()
    changes = [
        Change("new", finding(cluster="aks-a", pool="low1", severity=Severity.LOW, days_left=500)),
        Change("new", finding(cluster="aks-b", pool="crit1", severity=Severity.CRITICAL, days_left=12)),
        Change("new", finding(cluster="aks-a", pool="high1", severity=Severity.HIGH, days_left=60)),
        Change("new", finding(cluster="aks-c", pool="pay1", tags={"retirement-scanner:teams": "TEAMS_WEBHOOK_PAYMENTS"})),
    ]
    msgs = {m.recipient.key: m for m in build_messages(changes, {}, s, NOW).messages}
    assert sorted(msgs) == ["email:platform@example.com", "teams:TEAMS_WEBHOOK_PAYMENTS", "teams:TEAMS_WEBHOOK_URL"]
    text = msgs["email:platform@example.com"].text
    assert text.index("aks-b") < text.index("aks-a")  # the cluster with the critical pool first
    assert text.index("high1") < text.index("low1")  # within a cluster, most urgent first
    assert "pay1" not in text and "pay1" in json.dumps(msgs["teams:TEAMS_WEBHOOK_PAYMENTS"].teams_posts)
    assert len(msgs["teams:TEAMS_WEBHOOK_URL"].teams_posts) == 1


def test_finding_shows_what_to_do():
    msg = build_messages([Change("new", finding(days_left=80))], {}, settings(), NOW).messages
    teams = next(m for m in msg if m.recipient.channel == "teams")
    mail = next(m for m in msg if m.recipient.channel == "email")
    card = json.dumps(teams.teams_posts, ensure_ascii=False)
    for body in (card, mail.text, mail.html):
        for needle in ("Standard_D4_v2", "np1", "2028-05-01", "80 days left", "Standard_D4s_v5",
                       "same vCPUs and memory, Gen2 capable", "az aks nodepool add",
                       "https://azure.microsoft.com/updates?id=dv2",
                       f"https://portal.azure.com/#resource/subscriptions/{SUB}/resourceGroups/rg-prod"):
            assert needle in body, (needle, body[:200])
    envelope = teams.teams_posts[0]
    assert envelope["type"] == "message"
    att = envelope["attachments"][0]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive" and att["contentUrl"] is None
    assert att["content"]["type"] == "AdaptiveCard" and att["content"]["version"] == "1.4"
    assert "80 days left" in mail.subject or "1 new" in mail.subject


def test_no_secret_in_any_message():
    msgs = build_messages([Change("new", finding(tags={"retirement-scanner:teams": "TEAMS_WEBHOOK_PAYMENTS"})),
                           Change("new", finding(cluster="other"))], {}, settings(), NOW).messages
    blob = json.dumps([m.to_dict() for m in msgs])
    assert "TOPSECRETSIG" not in blob and "OTHERSIG" not in blob and "logic.azure.com" not in blob


def test_email_html_is_escaped():
    f = finding(commands=("echo <script>alert(1)</script>",))
    mail = next(m for m in build_messages([Change("new", f)], {}, settings(), NOW).messages
                if m.recipient.channel == "email")
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


def test_csv_lists_every_finding_and_defuses_formulas():
    changes = [Change("new", finding(pool=f"p{i}")) for i in range(5)]
    changes.append(Change("new", finding(pool="=HYPERLINK(1)")))
    mail = next(m for m in build_messages(changes, {}, settings(), NOW).messages if m.recipient.channel == "email")
    rows = list(csv.DictReader(io.StringIO(mail.csv)))
    assert len(rows) == 6
    assert {r["pool"] for r in rows} >= {"p0", "p4", "'=HYPERLINK(1)"}
    assert all(r["vm_size"] == "Standard_D4_v2" and r["days_left"] == "80" for r in rows)


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize("n", [1, 40, 400, 3000], ids=lambda n: f"{n}-findings")
def test_every_post_stays_under_the_card_limit(n):
    changes = [Change("new", finding(cluster=f"aks-{i % 97}", pool=f"pool{i}", rg=f"rg-{i % 13}",
                                     days_left=10 + i % 400,
                                     severity=[Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM][i % 3]))
               for i in range(n)]
    s = settings(EMAIL_TO=None)
    (msg,) = build_messages(changes, {}, s, NOW).messages
    sizes = [payload_bytes(p) for p in msg.teams_posts]
    assert max(sizes) < CARD_HARD_LIMIT < 28 * 1024
    assert 1 <= len(sizes) <= MAX_TEAMS_POSTS
    blob = json.dumps(msg.teams_posts, ensure_ascii=False)
    shown = blob.count("az aks nodepool add")
    if shown < n:  # the rest is summarised with a count and the report link
        assert f"{n - shown} more finding(s)" in blob
        assert "https://scanner.example.net/api/report" in blob
    assert len(msg.stages) == n  # every finding is told (recorded), shown or summarised


def test_one_enormous_finding_is_trimmed_not_fatal():
    f = finding(commands=tuple(f"az aks nodepool update --labels k{i}=" + "v" * 200 for i in range(400)))
    (msg,) = build_messages([Change("new", f)], {}, settings(EMAIL_TO=None), NOW).messages
    assert payload_bytes(msg.teams_posts[0]) < CARD_HARD_LIMIT


def test_message_round_trips_through_json():
    (msg,) = build_messages([Change("new", finding())], {}, settings(TEAMS_WEBHOOK_URL=None), NOW).messages
    assert Message.from_dict(json.loads(msg.to_json())) == msg
    with pytest.raises(ValueError, match="stored message 'x' is malformed"):
        Message.from_dict({"id": "x"})


def test_a_digest_that_fits_one_post_without_commands_is_not_split_and_says_where_they_are():
    from notifiers.render import _groups, teams_posts

    cmds = (f"az aks nodepool add --name new1 {'--labels a=b ' * 60}", "kubectl drain -l agentpool=np1")
    changes = [Change("new", finding(cluster=f"aks-{i}", pool=f"np{i}", commands=cmds)) for i in range(14)]
    s = settings(EMAIL_TO=None)
    p = plan(changes, {}, s)
    assert len(teams_posts(_groups(p.by_recipient[TEAMS], s), "t")) > 1  # with every command: split
    (msg,) = build_messages(changes, {}, s, NOW).messages
    assert len(msg.teams_posts) == 1 and payload_bytes(msg.teams_posts[0]) < CARD_HARD_LIMIT
    blob = json.dumps(msg.teams_posts[0])
    left_out = blob.count("more command(s) in the email and the report")
    kept = blob.count("kubectl drain -l agentpool=np")
    assert left_out + kept == 14 and left_out > 0  # every finding either shows its commands or says so
    mail = build_messages(changes, {}, settings(), NOW).messages[0]
    assert mail.recipient.channel == "email" and mail.text.count("--labels a=b " * 60) == 14


def test_a_one_post_card_keeps_the_commands_of_the_most_urgent_findings():
    cmds = lambda i: (f"az aks nodepool add --name new{i} {'--labels a=b ' * 60}",  # noqa: E731
                      f"kubectl drain -l agentpool=np{i}")
    changes = [Change("new", finding(cluster=f"aks-{i}", pool=f"np{i}", commands=cmds(i), severity=Severity.LOW,
                                     days_left=700 + i)) for i in range(12)]
    changes.append(Change("new", finding(cluster="aks-urgent", pool="npx", commands=cmds("x"),
                                         severity=Severity.CRITICAL, days_left=10)))
    (msg,) = build_messages(changes, {}, settings(EMAIL_TO=None), NOW).messages
    assert len(msg.teams_posts) == 1
    blob = json.dumps(msg.teams_posts[0])
    assert "kubectl drain -l agentpool=npx" in blob  # the critical one keeps its commands
    assert "more command(s) in the email and the report" in blob  # some low ones gave theirs up
    assert "kubectl drain -l agentpool=np11" not in blob  # the least urgent low one is the first to go


def test_commands_are_never_cut_mid_command():
    cmds = ("az aks nodepool add " + "--x y " * 300, "kubectl cordon -l agentpool=np1")
    (msg,) = build_messages([Change("new", finding(commands=cmds))], {}, settings(EMAIL_TO=None), NOW).messages
    containers = [el for el in msg.teams_posts[0]["attachments"][0]["content"]["body"] if el.get("separator")]
    texts = [i["text"] for i in containers[0]["items"] if i.get("fontType") == "Monospace"]
    assert texts == [] or all(set(t.split("\n\n")) <= set(cmds) for t in texts)
    assert "1 more command(s)" in json.dumps(msg.teams_posts) or "2 more command(s)" in json.dumps(msg.teams_posts)


def test_cost_and_quota_reach_the_card_and_the_email():
    from dataclasses import replace

    from scanner.core.costs import PriceBook, price_findings
    from scanner.core.model import Cost, Headroom

    f = replace(finding(), cost=Cost("", 3), replacement_quota=Headroom("standardDSv5Family", needed=44, family_used=92,
                                                                         family_limit=100, vcpus_per_node=4, nodes=11))
    book = PriceBook("USD").add("Standard_D4_v2", "westeurope", "linux", 0.2).add("Standard_D4s_v5", "westeurope", "linux", 0.192)
    (f,) = price_findings([f], book)
    msg = build_messages([Change("new", f)], {}, settings(), NOW).messages
    card = json.dumps(next(m for m in msg if m.recipient.channel == "teams").teams_posts, ensure_ascii=False)
    mail = next(m for m in msg if m.recipient.channel == "email")
    assert "USD 438.00/month now (3 node(s)), 420.48 after the move (-17.52)" in card
    assert "standardDSv5Family: the new pool needs 44 vCPUs, 8 free; ask for a limit of 136" in card
    for body in (mail.text, mail.html):
        assert "USD 438.00/month now" in body and "420.48 on Standard_D4s_v5" in body
