"""Load and validate settings: CLI flag > environment (`PLEIN_SECTION__KEY`) > config file > default.

Every key is checked against `storage.settings.Settings`: an unknown key, a value of the wrong type or a bad
URL raises `ConfigError` naming the key, and the CLI stops with that one line.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import ssl
import tomllib
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from apub.languages import is_known_language
from plein.tenants import TenantError, anchor_table_files, check_distinct, tenant_settings
from storage.push_keys import vapid_private_key
from storage.settings import ServerSettings, Settings

ENV_PREFIX = "PLEIN_"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A configuration problem, with the dotted key it concerns."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config error: {key}: {message}")
        self.key = key


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {field.name: hints[field.name] for field in dataclasses.fields(Settings)}


def _coerce(key: str, value: Any, annotation: Any, *, from_text: bool) -> Any:
    origin = get_origin(annotation)
    if origin is Literal:
        allowed = get_args(annotation)
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in TRUE_WORDS | FALSE_WORDS:
            return str(value).lower() in TRUE_WORDS
        raise ConfigError(key, f"must be true or false, not {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text:
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(key, f"must be an integer, not {value!r}")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_text:
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(key, f"must be a number, not {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"must be a string, not {value!r}")
    if annotation is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise ConfigError(key, f"must be a path string, not {value!r}")
    if origin is tuple:
        if from_text and isinstance(value, str):
            value = _text_list(key, value)
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise ConfigError(key, f"must be a list of strings, not {value!r}")
        return tuple(value)
    raise ConfigError(key, f"unsupported setting type {annotation!r}")


def _text_list(key: str, text: str) -> list[Any]:
    """A list given as text (environment, `--set`): a TOML array (`["a", "b"]`) or comma-separated words."""
    if text.lstrip().startswith("["):
        try:
            return list(tomllib.loads(f"value = {text}")["value"])
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(key, f"is not a TOML array: {text!r}") from error
    return [item.strip() for item in text.split(",") if item.strip()]


def _check_url(key: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(
            key, f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}: {value!r}"
        )


def _validate(settings: Settings) -> None:
    _check_url("instance.base_url", settings.instance.base_url, ("http", "https"))
    base = urlsplit(settings.instance.base_url)
    if base.path not in ("", "/") or base.query or base.fragment:
        raise ConfigError("instance.base_url", "must have no path, query or fragment")
    if base.netloc != settings.instance.domain:
        raise ConfigError(
            "instance.domain",
            f"must equal the host of instance.base_url ({base.netloc!r}), not a different name",
        )
    if settings.database.url:
        if not settings.database.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError("database.url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    if settings.database.pool_size < 1:
        raise ConfigError("database.pool_size", "must be at least 1")
    if settings.database.max_overflow < 0:
        raise ConfigError("database.max_overflow", "must be 0 or more")
    if settings.federation.ca_bundle:
        _check_ca_bundle(settings.federation.ca_bundle)
    if settings.mail.ca_bundle:
        _check_ca_bundle(settings.mail.ca_bundle, "mail.ca_bundle")
    for key in ("about_file", "privacy_policy_file", "terms_of_service_file"):
        path = getattr(settings.instance, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"instance.{key}", f"no such file: {path}")
    if settings.instance.terms_of_service_date:
        try:
            date.fromisoformat(settings.instance.terms_of_service_date)
        except ValueError as error:
            raise ConfigError("instance.terms_of_service_date", "must be a date, YYYY-MM-DD") from error
    contact = settings.instance.security_contact
    if contact and not re.fullmatch(r"(mailto:[^\s@]+@[^\s@]+|https://\S+)", contact):
        raise ConfigError("instance.security_contact", "must be a mailto: or https: URL")
    for language in settings.instance.languages:
        if not is_known_language(language):
            raise ConfigError("instance.languages", f"{language!r} is not an ISO 639 language code")
    for key, cidrs in (
        ("federation.allow_private_addresses", settings.federation.allow_private_addresses),
        ("server.trusted_proxies", settings.server.trusted_proxies),
        ("metrics.allow_from", settings.metrics.allow_from),
    ):
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as error:
                raise ConfigError(key, f"{cidr!r} is not a CIDR") from error
    if settings.secrets.vapid_private_key:
        try:
            vapid_private_key(settings.secrets.vapid_private_key)
        except ValueError as error:
            raise ConfigError("secrets.vapid_private_key", f"not a P-256 private key: {error}") from error
    if settings.privacy.security_log_days < 1:
        raise ConfigError("privacy.security_log_days", "must be at least 1")
    if settings.privacy.deleted_media_days < 0:
        raise ConfigError("privacy.deleted_media_days", "must be 0 or more")
    if settings.accounts.deletion_grace_days < 0:
        raise ConfigError("accounts.deletion_grace_days", "must be 0 or more")
    if settings.media.orphan_upload_hours < 1:
        raise ConfigError("media.orphan_upload_hours", "must be at least 1")
    if settings.media.remote_cache_days < 0:
        raise ConfigError("media.remote_cache_days", "must be 0 or more")
    if settings.media.remote_video_max_bytes < 0:
        raise ConfigError("media.remote_video_max_bytes", "must be 0 or more")
    if not 1 <= settings.server.listen_port <= 65535:
        raise ConfigError("server.listen_port", "must be between 1 and 65535")
    if settings.server.keepalive_seconds < 1:
        raise ConfigError("server.keepalive_seconds", "must be at least 1")
    if settings.mail.host and "@" not in settings.mail.from_address:
        raise ConfigError("mail.from_address", "must be an e-mail address when mail.host is set")
    if not 1 <= settings.mail.port <= 65535:
        raise ConfigError("mail.port", "must be between 1 and 65535")
    if settings.limits.max_body_bytes < 1024:
        raise ConfigError("limits.max_body_bytes", "must be at least 1024")


def _env_values(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].partition("__")
        values.setdefault(section.lower(), {})[key.lower()] = value
    return values


def load_settings(
    config_path: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    text_overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Build validated settings from a TOML file, the environment and `overrides` ("section.key" → value).

    `text_overrides` are command-line values typed as text (`--set section.key=value`), read like environment
    variables; they beat `overrides`. A relative `server.data_dir` in the file is relative to the file's folder.
    With `[[domains]]` in the file, these are the primary domain's settings (`load_tenants` has them all).
    """
    return load_tenants(config_path, environ=environ, overrides=overrides, text_overrides=text_overrides)[0]


def load_tenants(
    config_path: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    text_overrides: Mapping[str, str] | None = None,
) -> tuple[Settings, ...]:
    """The validated settings of every domain the config file serves: the primary (`[instance]`) first, then
    one per `[[domains]]` table (`plein.tenants`); one element without `[[domains]]`."""
    file_values: dict[str, Any] = {}
    if config_path is not None:
        try:
            with config_path.open("rb") as handle:
                file_values = tomllib.load(handle)
        except FileNotFoundError as error:
            raise ConfigError("config", f"file not found: {config_path}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError("config", f"{config_path} is not valid TOML: {error}") from error
        _anchor_data_dir(file_values, config_path.parent)
        _anchor_files(file_values, config_path.parent)
    domain_tables = file_values.pop("domains", [])
    if not isinstance(domain_tables, list):
        raise ConfigError("domains", "must be an array of tables ([[domains]])")
    if config_path is not None:
        anchor_table_files(domain_tables, config_path.parent)
    layers: list[tuple[dict[str, Any], bool]] = [
        (file_values, False),
        (_env_values(environ or {}), True),
        (_dotted_values(overrides or {}), False),
        (_dotted_values(text_overrides or {}), True),
    ]

    sections = _section_types()
    merged: dict[str, dict[str, Any]] = {name: {} for name in sections}
    for layer, from_text in layers:
        for section, values in layer.items():
            if section not in sections:
                raise ConfigError(section, "unknown section")
            if not isinstance(values, dict):
                raise ConfigError(section, "must be a table of keys")
            hints = typing.get_type_hints(sections[section])
            for key, value in values.items():
                if key not in hints:
                    raise ConfigError(f"{section}.{key}", "unknown key")
                merged[section][key] = _coerce(f"{section}.{key}", value, hints[key], from_text=from_text)
    settings = Settings(**{name: sections[name](**merged[name]) for name in sections})
    try:
        tenants = tenant_settings(
            settings, domain_tables, lambda key, value, hint: _coerce(key, value, hint, from_text=False)
        )
        check_distinct(tenants)
    except TenantError as error:
        raise ConfigError(error.key, str(error)) from error
    for index, tenant in enumerate(tenants):
        try:
            _validate(tenant)
        except ConfigError as error:
            if index == 0:
                raise
            key = error.key.replace("instance.", f"domains[{index - 1}].", 1)
            raise ConfigError(key, str(error).split(": ", 2)[-1]) from error
    return tenants


def _check_ca_bundle(path: str, key: str = "federation.ca_bundle") -> None:
    """A CA bundle must be a readable PEM file holding at least one certificate."""
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(key, f"cannot load certificates from {path!r}: {error}") from error


def _dotted_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        sections.setdefault(section, {})[key] = value
    return sections


def _anchor_data_dir(file_values: dict[str, Any], folder: Path) -> None:
    """Make a relative (or defaulted) `server.data_dir` of a config file relative to that file's folder, so the instance
    finds its data whichever directory the command runs from (systemd units, `--config /etc/...`)."""
    server = file_values.setdefault("server", {})
    if not isinstance(server, dict):
        return  # reported as "must be a table of keys" by the caller
    server.setdefault("data_dir", str(ServerSettings().data_dir))  # the default is relative too
    if isinstance(server["data_dir"], str):
        data_dir = Path(server["data_dir"]).expanduser()
        if not data_dir.is_absolute():
            server["data_dir"] = str(folder.resolve() / data_dir)


# Settings naming a file: a relative path in a config file is relative to that file's folder (as data_dir).
FILE_SETTINGS = (
    ("archive", "folder"),
    ("federation", "ca_bundle"),
    ("instance", "about_file"),
    ("instance", "privacy_policy_file"),
    ("instance", "terms_of_service_file"),
    ("mail", "ca_bundle"),
)


def _anchor_files(file_values: dict[str, Any], folder: Path) -> None:
    """Make the relative file paths of a config file relative to that file's folder."""
    for section_name, key in FILE_SETTINGS:
        section = file_values.get(section_name)
        if isinstance(section, dict) and isinstance(section.get(key), str) and section[key]:
            path = Path(section[key]).expanduser()
            if not path.is_absolute():
                section[key] = str(folder.resolve() / path)


def settings_to_toml(settings: Settings) -> str:
    """Render settings as a TOML config file (used by `plein init`)."""
    lines: list[str] = []
    for section in dataclasses.fields(settings):
        lines.append(f"[{section.name}]")
        for field in dataclasses.fields(getattr(settings, section.name)):
            value = getattr(getattr(settings, section.name), field.name)
            lines.append(f"{field.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
