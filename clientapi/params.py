"""Request parameters as Mastodon clients send them: query string, urlencoded or multipart form, or JSON,
merged into one nested mapping (body over query), with Rails bracket names unfolded:

    media_ids[]=1&media_ids[]=2            → {"media_ids": ["1", "2"]}
    source[privacy]=private                → {"source": {"privacy": "private"}}
    fields_attributes[0][name]=Site        → {"fields_attributes": {"0": {"name": "Site"}}}
    fields_attributes[][name]=a&...[][value]=b → {"fields_attributes": [{"name": "a", "value": "b"}]}

The typed getters raise `Unprocessable` (422) with a message naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from apub.jsondepth import exceeds_depth
from clientapi.errors import ApiError, Unprocessable, ValidationCode
from storage.ids import MAX_ID
from storage.ids import parse_id as parse_storage_id
from storage.settings import LimitSettings

TRUE_WORDS = frozenset({"true", "1", "t", "on", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "f", "off", "no", "n", ""})
_BRACKET_PART = re.compile(r"\[([^\[\]]*)\]")
_STATE_KEY = "clientapi.params"
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,19}")
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}")
# Any one string parameter: a URL's worth. Longer texts (a status) pass `max_length` themselves.
MAX_STRING_LENGTH = 2048
# Rails bracket names nest this deep at most (`fields_attributes[0][name]` is 3); Rack refuses past 32.
MAX_NAME_DEPTH = 8
MAX_JSON_DEPTH = 16


@dataclass(frozen=True)
class UploadedFile:
    """A file from a multipart body, read into memory."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """The merged parameters of one request, with typed getters."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = values or {}

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __repr__(self) -> str:
        return f"Params({self.values!r})"

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value (string, list, dict, number, bool or UploadedFile) or `default`."""
        return self.values.get(name, default)

    def get_str(
        self,
        name: str,
        default: str | None = None,
        *,
        required: bool = False,
        max_length: int | None = MAX_STRING_LENGTH,
    ) -> str | None:
        """A string parameter; numbers from JSON are accepted as their text. Longer than `max_length` → 422
        (None: the caller checks the length itself, against a configured limit)."""
        value = self.values.get(name)
        if value is None:
            if required:
                raise Unprocessable(
                    f"Validation failed: {name} is missing", field=name, code=ValidationCode.BLANK
                )
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return _text(value, name, max_length)

    def get_language(self, name: str) -> str | None:
        """An ISO 639 language code (`en`, `fra`); None when absent or not one (as Mastodon ignores it)."""
        language = self.get_str(name)
        return language if language and LANGUAGE_PATTERN.fullmatch(language) else None

    def require_str(self, name: str) -> str:
        """A string parameter that must be present and not empty."""
        value = self.get_str(name, required=True)
        if not value:
            raise Unprocessable(
                f"Validation failed: {name} can't be blank", field=name, code=ValidationCode.BLANK
            )
        return value

    def get_int(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        clamp: bool = False,
    ) -> int | None:
        """An integer parameter; out of `minimum`..`maximum` it is clamped (`clamp`) or refused."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        number = _to_int(value)
        if number is None:
            raise Unprocessable(f"Validation failed: {name} must be an integer", field=name)
        if minimum is not None and number < minimum:
            if not clamp:
                raise Unprocessable(
                    f"Validation failed: {name} must be at least {minimum}",
                    field=name,
                    code=ValidationCode.INCLUSION,
                )
            number = minimum
        if maximum is not None and number > maximum:
            if not clamp:
                raise Unprocessable(
                    f"Validation failed: {name} must be at most {maximum}",
                    field=name,
                    code=ValidationCode.INCLUSION,
                )
            number = maximum
        return number

    def get_id(self, name: str) -> int | None:
        """An id parameter (ids travel as strings); None when absent."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        return parse_id(value, name)

    def get_bool(self, name: str, default: bool | None = None) -> bool | None:
        """A boolean: true/1/t/on/yes or false/0/f/off/no, any case; JSON booleans as they are."""
        value = self.values.get(name)
        if value is None:
            return default
        return to_bool(value, name)

    def get_list(self, name: str) -> list[Any]:
        """A list parameter (`name[]=a&name[]=b`, a JSON array, or one bare value); [] when absent."""
        value = self.values.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            # {"0": ..., "1": ...} from indexed brackets: keep the indices' order.
            return [value[key] for key in sorted(value, key=_index_order)]
        return [value]

    def get_str_list(self, name: str) -> list[str]:
        """A list of strings (numbers accepted as their text)."""
        return [_text(item, name, MAX_STRING_LENGTH) for item in self.get_list(name)]

    def get_dict(self, name: str) -> dict[str, Any]:
        """A nested mapping (`name[key]=value` or a JSON object); {} when absent."""
        value = self.values.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise Unprocessable(f"Validation failed: {name} must be an object", field=name)
        return value

    def get_file(self, name: str) -> UploadedFile | None:
        """An uploaded file from a multipart body."""
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, UploadedFile):
            raise Unprocessable(f"Validation failed: {name} must be a file", field=name)
        return value

    def nested(self, name: str) -> Params:
        """The sub-mapping `name[...]` as its own Params."""
        return Params(self.get_dict(name))


def _text(value: Any, name: str, max_length: int | None) -> str:
    """A string (or a JSON number as its text) a database column can hold: no NUL (PostgreSQL refuses it
    in text), at most `max_length` characters; 422 otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Unprocessable(f"Validation failed: {name} must be a string", field=name)
    text = str(value)
    if "\x00" in text:
        raise Unprocessable(f"Validation failed: {name} contains a NUL character", field=name)
    if max_length is not None and len(text) > max_length:
        raise Unprocessable(
            f"Validation failed: {name} is too long (maximum is {max_length} characters)",
            field=name,
            code=ValidationCode.TOO_LONG,
        )
    return text


def to_bool(value: Any, name: str = "value") -> bool:
    """Read a boolean the way Rails does, refusing words that are neither true nor false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise Unprocessable(f"Validation failed: {name} must be a boolean", field=name)


def parse_id(value: Any, name: str = "id") -> int:
    """A database id from its string (or JSON number) form (`storage.ids.parse_id`); 422 otherwise."""
    number = parse_storage_id(value)
    if number is None:
        raise Unprocessable(f"Validation failed: {name} must be an id", field=name)
    return number


def parse_id_list(params: Params, name: str, *, limit: int) -> list[int]:
    """The distinct ids of a list parameter (`id[]=…`), in order; 422 past `limit` of them (Mastodon's
    `DEFAULT_ACCOUNTS_LIMIT` / `DEFAULT_STATUSES_LIMIT` checks, counted after removing repeats)."""
    ids = list(dict.fromkeys(parse_id(value, name) for value in params.get_str_list(name)))
    if len(ids) > limit:
        raise Unprocessable(
            f"Validation failed: at most {limit} {name} values", field=name, code=ValidationCode.TOO_LONG
        )
    return ids


def _to_int(value: Any) -> int | None:
    """An integer in ASCII digits or a JSON integer, within the range the database holds; None otherwise
    (`int()` alone takes Unicode digits like `١٢٣`, `1_000` and spaces, and any size)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = int(value) if _ASCII_INTEGER.fullmatch(value) else None
    if not isinstance(value, int) or not -MAX_ID <= value <= MAX_ID:
        return None
    return value


def _index_order(key: str) -> tuple[int, str]:
    index = _to_int(key)
    return (index, "") if index is not None else (MAX_ID, key)


def split_bracket_name(name: str) -> list[str]:
    """`a[b][]` → ["a", "b", ""]; a name without brackets is one part; deeper than MAX_NAME_DEPTH → 422."""
    start = name.find("[")
    if start <= 0 or not name.endswith("]"):
        return [name]
    rest = name[start:]
    parts = _BRACKET_PART.findall(rest)
    if "".join(f"[{part}]" for part in parts) != rest:
        return [name]  # malformed brackets: keep the name whole
    if len(parts) >= MAX_NAME_DEPTH:
        raise Unprocessable(
            f"Validation failed: parameter names nest at most {MAX_NAME_DEPTH} deep", field=name[:start]
        )
    return [name[:start], *parts]


def _assign(target: dict[str, Any], parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        target[head] = value
        return
    if rest[0] == "":
        items = target.get(head)
        if not isinstance(items, list):
            items = []
            target[head] = items
        tail = rest[1:]
        if not tail:
            items.append(value)
            return
        # `a[][name]=x&a[][value]=y`: start a new element when the last one already has this key (Rails).
        if not items or not isinstance(items[-1], dict) or tail[0] in items[-1]:
            items.append({})
        _assign(items[-1], tail, value)
        return
    child = target.get(head)
    if not isinstance(child, dict):
        child = {}
        target[head] = child
    _assign(child, rest, value)


def unfold_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Build the nested mapping from (name, value) pairs with Rails bracket names."""
    unfolded: dict[str, Any] = {}
    for name, value in pairs:
        _assign(unfolded, split_bracket_name(name), value)
    return unfolded


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def _body_values(request: Request) -> dict[str, Any]:
    if request.method in ("HEAD", "OPTIONS"):
        return {}
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if request.method == "GET" and not content_type.endswith("json"):
        return {}
    # A GET may carry JSON parameters too: Rails reads them, and Mastodon.py sends some that way
    # (`account_familiar_followers`).
    if content_type == "application/json" or content_type.endswith("+json"):
        body = await request.body()
        if not body.strip():
            return {}
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise Unprocessable("The request body is not valid JSON") from error
        if not isinstance(document, dict):
            raise Unprocessable("The JSON body must be an object")
        if exceeds_depth(document, MAX_JSON_DEPTH):
            raise Unprocessable(f"The JSON body nests deeper than {MAX_JSON_DEPTH}")
        # JSON may still use bracket names ("media_ids[]": [...]); unfold the top level.
        return unfold_pairs(
            (name[:-2] if name.endswith("[]") and isinstance(value, list) else name, value)
            for name, value in document.items()
        )
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        ctx = getattr(request.state, "ctx", None)  # None in an app without the lifespan (unit tests)
        limit = (ctx.settings.limits if ctx else LimitSettings()).max_media_bytes
        async with request.form() as form:
            # Files are read now so the spooled temporary files are closed before the handler runs.
            pairs = [(name, await _read_upload(value, limit)) for name, value in form.multi_items()]
        return unfold_pairs(pairs)
    return {}


async def _read_upload(value: str | UploadFile, limit: int) -> str | UploadedFile:
    """A form value, or an uploaded file read into memory; 413 past `limits.max_media_bytes` (the body
    limit, `plein.limits`, already refused larger bodies before any of it was read)."""
    if isinstance(value, str):
        return value
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"Validation failed: File file size must be less than {_size_text(limit)}")
    return UploadedFile(filename=value.filename or "", content_type=value.content_type or "", data=data)


def _size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size} bytes"


async def read_params(request: Request) -> Params:
    """Every parameter of the request (query, then body over it), read once and kept on the request."""
    cached = request.scope.get(_STATE_KEY)
    if cached is not None:
        return cached
    query = unfold_pairs(request.query_params.multi_items())
    params = Params(_merge(query, await _body_values(request)))
    request.scope[_STATE_KEY] = params
    return params
