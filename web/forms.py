"""Reading the web pages' form posts: one bounded parse, text fields as one string each (the last one wins,
NUL removed), files kept apart, and the CSRF check every POST route starts with (`posted_form`). The body
size itself is bounded below the routes (plein.limits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.requests import Request

from login.sessions import csrf_passes

MAX_FIELDS = 64
MAX_FILES = 6
MAX_FIELD_CHARS = 20_000


@dataclass(frozen=True)
class PostedFile:
    filename: str
    data: bytes


@dataclass
class Form:
    """A posted form: its text fields, the repeated ones in order, and its files."""

    fields: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[PostedFile]] = field(default_factory=dict)
    # Fields posted longer than MAX_FIELD_CHARS (kept cut short): a page that must refuse rather than cut
    # reads this.
    over_long: set[str] = field(default_factory=set)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def get_list(self, name: str) -> list[str]:
        return self.lists.get(name, [])

    def get_files(self, name: str) -> list[PostedFile]:
        """The non-empty files posted under `name` (a file input left empty posts an empty part)."""
        return [upload for upload in self.files.get(name, []) if upload.filename and upload.data]


async def read_form(request: Request) -> Form:
    """The request's form (urlencoded or multipart); an unreadable body reads as an empty form, which
    then fails its CSRF check."""
    form = Form()
    try:
        posted = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - a malformed body is refused by the CSRF check that follows
        return form
    try:
        for name, value in posted.multi_items():
            if isinstance(value, UploadFile):
                # Read whole: the body limit (plein.limits) already bounds it.
                form.files.setdefault(name, []).append(PostedFile(value.filename or "", await value.read()))
                continue
            if len(str(value)) > MAX_FIELD_CHARS:
                form.over_long.add(name)
            text = str(value)[:MAX_FIELD_CHARS].replace("\x00", "")
            form.fields[name] = text
            form.lists.setdefault(name, []).append(text)
    finally:
        await posted.close()
    return form


async def posted_form(request: Request) -> Form | None:
    """The request's form when it carries this browser's CSRF token, else None (the caller answers 403)."""
    form = await read_form(request)
    return form if await csrf_passes(request, form.get("csrf_token")) else None
