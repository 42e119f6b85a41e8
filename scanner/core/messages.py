"""What is told, as values: a recipient set, what it was last told about a finding, and one
fully rendered message. Pure; notifiers.render builds them, the outbox stores them, the
transports send them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipient:
    """A recipient set: one Teams webhook (named by its setting) or one list of email addresses.

    `target` never holds a webhook URL: for Teams it is the setting name (TEAMS_WEBHOOK_*).
    """

    channel: str  # "teams" | "email"
    target: str  # "TEAMS_WEBHOOK_URL" | "a@x.com,b@y.com" (sorted, lower-case)

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.target}"

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(a for a in self.target.split(",") if a) if self.channel == "email" else ()

    @classmethod
    def from_key(cls, key: str) -> Recipient:
        channel, sep, target = key.partition(":")
        if not sep or channel not in ("teams", "email") or not target:
            raise ValueError(f"recipient key {key!r} is not 'teams:SETTING' or 'email:ADDRESSES'")
        return cls(channel, target)


@dataclass(frozen=True)
class Told:
    """What one recipient set was last told about one finding (a row of the notifications table)."""

    stage: str  # "new" | "reopened" | "escalated:high" | "reminder:90" | "retired:3" | "resolved"
    severity: str = ""
    days_left: int | None = None
    message_id: str = ""


@dataclass(frozen=True)
class Message:
    """One digest for one recipient set, fully rendered. Holds no secret."""

    id: str
    recipient: Recipient
    subject: str
    # (finding id, stage, severity, days_left): what this message tells, recorded as told.
    stages: tuple[tuple[str, str, str, int | None], ...]
    counts: dict[str, int] = field(default_factory=dict)
    teams_posts: tuple[dict[str, Any], ...] = ()  # full webhook bodies, one per POST
    text: str = ""
    html: str = ""
    csv: str = ""

    @property
    def parts(self) -> int:
        """How many separate sends this message takes (Teams posts; 1 for email)."""
        return len(self.teams_posts) if self.recipient.channel == "teams" else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form (dry-run output and the stored body)."""
        return {
            "id": self.id,
            "channel": self.recipient.channel,
            "recipient": self.recipient.target,
            "subject": self.subject,
            "counts": dict(self.counts),
            "stages": [list(s) for s in self.stages],
            "teams_posts": list(self.teams_posts),
            "text": self.text,
            "html": self.html,
            "csv": self.csv,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        try:
            return cls(
                id=str(data["id"]),
                recipient=Recipient(str(data["channel"]), str(data["recipient"])),
                subject=str(data["subject"]),
                stages=tuple((str(s[0]), str(s[1]), str(s[2]), s[3]) for s in data["stages"]),
                counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
                teams_posts=tuple(data.get("teams_posts", ())),
                text=str(data.get("text", "")),
                html=str(data.get("html", "")),
                csv=str(data.get("csv", "")),
            )
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"stored message {data.get('id', '?')!r} is malformed: {exc!r}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
