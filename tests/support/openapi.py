"""Validate client API responses against the community OpenAPI 3.1 description of Mastodon
(/work/shared/mastodon-openapi/schema.json; its schemas are JSON Schema 2020-12, nullable fields are typed
`["string", "null"]`).

    validate_entity("Account", body, all_properties=True)   # every declared field present, nulls included
    validate_response("/api/v1/accounts/123", "GET", 200, body)

Formats are checked our way: `date-time` must be ISO 8601 (we also require milliseconds and `Z` when
`strict_times`), `uri` must be an absolute URL (or "", Mastodon's empty card URLs). Errors (4xx/5xx) are checked against the `Error` entity, a
422 against `ValidationError` (with `details`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# The project's reference data sits in `shared/` beside the repository (in a session and in CI); a clone
# made elsewhere finds the workplace's copy, or PLEIN_MASTODON_OPENAPI names the file.
_SCHEMA_CANDIDATES = [
    Path(__file__).resolve().parents[3] / "shared" / "mastodon-openapi" / "schema.json",
    Path("/work/shared/mastodon-openapi/schema.json"),
]
SCHEMA_PATH = Path(
    os.environ.get("PLEIN_MASTODON_OPENAPI")
    or next((path for path in _SCHEMA_CANDIDATES if path.exists()), _SCHEMA_CANDIDATES[0])
)
DOCUMENT_URI = "urn:plein:mastodon-openapi"
MASTODON_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class SchemaMismatch(AssertionError):
    """A response does not match the OpenAPI description."""


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The parsed OpenAPI document (read once per test run), with one ambiguity read as Mastodon means it:
    `Status.quote` is `oneOf` Quote / ShallowQuote, which both accept `{"state": ...}` alone (neither closes
    its properties), so no real quote could match exactly one; it is read as `anyOf`."""
    document = json.loads(SCHEMA_PATH.read_text())
    quote = document["components"]["schemas"]["Status"]["properties"].get("quote")
    if isinstance(quote, dict) and "oneOf" in quote:
        quote["anyOf"] = quote.pop("oneOf")
    return document


@functools.cache
def _registry() -> Registry:
    resource = Resource(contents=openapi_document(), specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, resource)


def _format_checker(strict_times: bool) -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if strict_times and not MASTODON_TIME.match(value):
            raise ValueError(f"{value!r} is not a UTC timestamp with milliseconds")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    @checker.checks("date", raises=ValueError)
    def is_date(value: object) -> bool:
        if isinstance(value, str):
            datetime.strptime(value, "%Y-%m-%d")
        return True

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        # "" is how Mastodon says "none" in a PreviewCard's `author_url`, `provider_url` and `embed_url`
        # (its own entity examples), which the description types as required URIs.
        return (
            not isinstance(value, str)
            or value == ""
            or bool(re.match(r"^[a-z][a-z0-9+.-]*:\S+$", value, re.IGNORECASE))
        )

    return checker


def _validator(schema: dict[str, Any], strict_times: bool) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=_registry(), format_checker=_format_checker(strict_times))


def _schema_ref(name: str) -> dict[str, Any]:
    if name not in openapi_document()["components"]["schemas"]:
        raise KeyError(f"no schema named {name!r} in the OpenAPI description")
    return {"$ref": f"{DOCUMENT_URI}#/components/schemas/{name}"}


def _raise_first(validator: Draft202012Validator, value: Any, what: str) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    if errors:
        first: ValidationError = errors[0]
        location = "/".join(str(part) for part in first.absolute_path) or "(root)"
        raise SchemaMismatch(f"{what}: at {location}: {first.message} ({len(errors)} error(s))")


def missing_properties(name: str, value: dict[str, Any]) -> list[str]:
    """Declared properties of schema `name` that `value` lacks (nullable ones must be present as null)."""
    declared = openapi_document()["components"]["schemas"][name].get("properties", {})
    return sorted(key for key in declared if key not in value)


def validate_entity(
    name: str,
    value: Any,
    *,
    all_properties: bool = False,
    strict_times: bool = True,
    ignore: tuple[str, ...] = (),
) -> None:
    """Raise SchemaMismatch unless `value` is a valid `name` entity (a list: each item).

    `all_properties` also demands every declared top-level property, except those in `ignore`."""
    items = value if isinstance(value, list) else [value]
    validator = _validator(_schema_ref(name), strict_times)
    for index, item in enumerate(items):
        label = f"{name}[{index}]" if isinstance(value, list) else name
        _raise_first(validator, item, label)
        if all_properties:
            missing = [key for key in missing_properties(name, item) if key not in ignore]
            if missing:
                raise SchemaMismatch(f"{label} lacks declared properties: {', '.join(missing)}")


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{pattern}$")


def path_template(path: str) -> str:
    """The OpenAPI path template matching a concrete path (literal templates win over parameters)."""
    path = path.split("?", 1)[0]
    candidates = [
        template for template in openapi_document()["paths"] if _template_pattern(template).match(path)
    ]
    if not candidates:
        raise KeyError(f"no OpenAPI path matches {path}")
    return min(candidates, key=lambda template: (template.count("{"), -len(template)))


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    """The JSON schema of a documented response, or None when the description gives none."""
    operation = openapi_document()["paths"][path_template(path)].get(method.lower())
    if operation is None:
        raise KeyError(f"{method} {path} is not described")
    if status == 422:  # Mastodon's validation errors name the field and the code in `details`
        return _schema_ref("ValidationError")
    if status >= 400:
        return _schema_ref("Error")
    response = operation.get("responses", {}).get(str(status))
    if response is None:
        raise SchemaMismatch(f"{method} {path} does not document status {status}")
    content = response.get("content", {}).get("application/json")
    return content.get("schema") if content else None


def _rebase_refs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: (
                f"{DOCUMENT_URI}{value}" if key == "$ref" and value.startswith("#") else _rebase_refs(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase_refs(item) for item in schema]
    return schema


def validate_response(path: str, method: str, status: int, body: Any, *, strict_times: bool = True) -> None:
    """Raise SchemaMismatch unless `body` matches the documented response of `method path` with `status`."""
    schema = response_schema(path, method, status)
    if schema is None:
        return
    _raise_first(_validator(_rebase_refs(schema), strict_times), body, f"{method} {path} {status}")
