"""The `file` channel: writes each message to a folder instead of sending it (demo, dry runs).

Teams messages become `<id>.teams.json`: a wrapper `{"recipient", "subject", "posts": [...]}`
whose `posts` are the webhook bodies exactly as they would be posted; email messages become `<id>.eml` (the MIME message SMTP would send, CSV attached).
Files are written atomically (temporary name, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from notifiers import DeliveryError, Message
from notifiers.mail import email_message


class FileChannel:
    def __init__(self, folder: str | os.PathLike, sender: str = "") -> None:
        self.folder = Path(folder)
        self.sender = sender
        self.where = f"folder {self.folder}"

    def path_for(self, message: Message) -> Path:
        suffix = ".teams.json" if message.recipient.channel == "teams" else ".eml"
        return self.folder / f"{message.id}{suffix}"

    def send(self, message: Message, start_part: int = 0, progress: Callable[[int], None] | None = None) -> None:
        path = self.path_for(message)
        if message.recipient.channel == "teams":
            data = json.dumps({"recipient": message.recipient.target, "subject": message.subject,
                               "posts": list(message.teams_posts)}, ensure_ascii=False, indent=2).encode("utf-8")
        else:
            data = bytes(email_message(message, self.sender))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise DeliveryError(f"{self.where}: cannot write {path.name}: {exc.strerror or exc}",
                                retryable=True) from None
        if progress is not None:
            progress(message.parts)
