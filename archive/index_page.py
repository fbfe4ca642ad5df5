"""The package's `index.html`: the archive readable in any browser, without Plein and without a network.

Built only from what the package itself holds (the activities as sent, the received notes, the archived
files), so it changes exactly when the package's data changes. Post HTML is cleaned again with nh3: the
index may be opened long after, by anyone, from a disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import nh3
from markupsafe import Markup

from archive.records import AccountRecords

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ArchivedFile:
    path: str
    alt: str
    image: bool


@dataclass(frozen=True)
class Entry:
    time: str
    kind: str
    target: str = ""
    summary: str = ""
    content: Markup = Markup("")
    files: list[ArchivedFile] = field(default_factory=list)


@dataclass(frozen=True)
class AccountView:
    handle: str
    entries: list[Entry]
    received: list[Entry]


def _clean(html: Any) -> Markup:
    return Markup(nh3.clean(html)) if isinstance(html, str) else Markup("")


def _object_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _describe(activity: dict[str, Any], files_by_url: dict[str, ArchivedFile], folder: str) -> Entry:
    kind = str(activity.get("type", ""))
    thing = activity.get("object")
    if not isinstance(thing, dict):
        return Entry(time=str(activity.get("published", "")), kind=kind, target=_object_id(thing))
    time = str(thing.get("updated") or thing.get("published") or activity.get("published") or "")
    label = f"{kind} {thing.get('type', '')}".strip()
    if thing.get("type") in ("Person", "Service", "Group", "Organization", "Application"):
        return Entry(
            time=time, kind=label, summary=str(thing.get("name") or ""), content=_clean(thing.get("summary"))
        )
    if kind == "Delete" or thing.get("type") == "Tombstone":
        return Entry(time=time, kind=label, target=_object_id(thing))
    attachments = thing.get("attachment") if isinstance(thing.get("attachment"), list) else []
    files = []
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("url"), str):
            archived = files_by_url.get(attachment["url"])
            if archived is not None:
                files.append(ArchivedFile(f"{folder}/{archived.path}", archived.alt, archived.image))
    return Entry(
        time=time,
        kind=label,
        target=_object_id(thing),
        summary=str(thing.get("summary") or ""),
        content=_clean(thing.get("content")),
        files=files,
    )


def account_view(records: AccountRecords, handle: str, files_by_url: dict[str, ArchivedFile]) -> AccountView:
    folder = records.account.username
    return AccountView(
        handle=handle,
        entries=[_describe(activity, files_by_url, folder) for activity in records.activities],
        received=[
            Entry(
                time=str(note.get("published", "")),
                kind="reply" if note.get("inReplyTo") else "mention",
                target=_object_id(note),
                summary=str(note.get("summary") or ""),
                content=_clean(note.get("content")),
            )
            for note in records.received
        ],
    )


def render_index(*, title: str, base_url: str, period: str, accounts: list[AccountView]) -> bytes:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    page = environment.get_template("index.html").render(
        title=title, base_url=base_url, period=period, accounts=accounts, language="en"
    )
    return page.encode()
