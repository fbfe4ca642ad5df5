"""Several domains on one install: the settings of each domain (a *tenant*) from the config's `[[domains]]`.

The top-level `[instance]` is the primary domain, served as before from `server.data_dir` and the database's
default schema. Every `[[domains]]` table adds one more, with settings of its own derived from the primary's:

- `instance`: the primary's values, with `domain`, `base_url` and whatever instance keys the table sets;
- `registration`, `mail`, `archive`: the primary's sections, with the keys of the table's sub-table of that name
  (an inherited archive folder gets a `domains/<domain>/` sub-folder);
- `server.data_dir`: `<data_dir>/domains/<domain>/` (its SQLite file, media and emojis);
- `database.schema`: `plein_<domain>` on PostgreSQL (one schema each in the one database);
- `secrets.secret_key`: derived from the primary's and the domain, so a signed cookie, CSRF token or password
  reset link of one domain means nothing on another.

Tenants share no rows: an account on one domain is remote to every other, and they federate over HTTP like
strangers (docs/MULTIDOMAIN.md). The process, the listening port, the config file and the database server are
what they share.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.settings import InstanceSettings, Settings

# Sections a `[[domains]]` table may override through a sub-table of the same name.
PER_DOMAIN_SECTIONS = ("registration", "mail", "archive")
DOMAINS_FOLDER = "domains"
SCHEMA_PREFIX = "plein_"

Coerce = Callable[[str, Any, Any], Any]


class TenantError(ValueError):
    """A `[[domains]]` entry that cannot be used; `key` is its dotted place in the config."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def schema_for(domain: str) -> str:
    """The PostgreSQL schema of an extra domain: `plein_` and the domain with every other character than
    a letter or digit as `_` (`plein_agency_example_nl`), lower case, within PostgreSQL's 63 bytes."""
    return (SCHEMA_PREFIX + re.sub(r"[^a-z0-9]", "_", domain.lower()))[:63]


def folder_for(domain: str) -> str:
    """The folder name of an extra domain under `<data_dir>/domains/` (a `:port` becomes `_port`)."""
    return re.sub(r"[^a-z0-9.-]", "_", domain.lower())


def derived_secret(secret_key: str, domain: str) -> str:
    """The secret key of an extra domain: an HMAC of the primary's, so each domain's signatures differ
    (none while the primary has none, so `plein doctor` says so for every domain)."""
    if not secret_key:
        return ""
    return hmac.new(secret_key.encode(), f"plein-domain:{domain}".encode(), hashlib.sha256).hexdigest()


def _table_values(
    index: int, table: Any, section: str, annotations: dict[str, Any], coerce: Coerce
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise TenantError(f"domains[{index}].{section}", "must be a table of keys")
    values = {}
    for key, value in table.items():
        dotted = f"domains[{index}].{section}.{key}"
        if key not in annotations:
            raise TenantError(dotted, "unknown key")
        values[key] = coerce(dotted, value, annotations[key])
    return values


def tenant_settings(primary: Settings, tables: list[Any], coerce: Coerce) -> tuple[Settings, ...]:
    """The primary's settings, then one `Settings` per `[[domains]]` table (unvalidated: the caller checks
    each as it checks the primary). `coerce(key, value, annotation)` types one value as the config loader does."""
    instance_types = typing.get_type_hints(InstanceSettings)
    settings_types = typing.get_type_hints(Settings)
    tenants = [primary]
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            raise TenantError(f"domains[{index}]", "must be a table ([[domains]])")
        for needed in ("domain", "base_url"):
            if not isinstance(table.get(needed), str) or not table[needed]:
                raise TenantError(f"domains[{index}].{needed}", "is required (a string)")
        instance_values: dict[str, Any] = {}
        sections: dict[str, Any] = {}
        for key, value in table.items():
            if key in PER_DOMAIN_SECTIONS:
                hints = typing.get_type_hints(settings_types[key])
                overrides = _table_values(index, value, key, hints, coerce)
                sections[key] = dataclasses.replace(getattr(primary, key), **overrides)
            elif key in instance_types:
                instance_values[key] = coerce(f"domains[{index}].{key}", value, instance_types[key])
            else:
                raise TenantError(f"domains[{index}].{key}", "unknown key")
        domain = instance_values["domain"]
        if "archive" not in sections and primary.archive.folder:  # packages of two domains never mix
            folder = str(Path(primary.archive.folder) / DOMAINS_FOLDER / folder_for(domain))
            sections["archive"] = dataclasses.replace(primary.archive, folder=folder)
        tenants.append(
            dataclasses.replace(
                primary,
                instance=dataclasses.replace(primary.instance, **instance_values),
                server=dataclasses.replace(
                    primary.server, data_dir=primary.server.data_dir / DOMAINS_FOLDER / folder_for(domain)
                ),
                database=dataclasses.replace(
                    primary.database,
                    schema=schema_for(domain) if primary.database.url.startswith("postgresql") else "",
                ),
                secrets=dataclasses.replace(
                    primary.secrets, secret_key=derived_secret(primary.secrets.secret_key, domain)
                ),
                **sections,
            )
        )
    return tuple(tenants)


def check_distinct(tenants: tuple[Settings, ...]) -> None:
    """Every domain once: two tenants answering to one Host would make the choice arbitrary."""
    seen: set[str] = set()
    for index, tenant in enumerate(tenants):
        domain = tenant.domain.lower()
        if domain in seen:
            where = "instance.domain" if index == 0 else f"domains[{index - 1}].domain"
            raise TenantError(where, f"{tenant.domain!r} is configured twice")
        seen.add(domain)


def pick_tenant(tenants: tuple[Settings, ...], domain: str | None) -> Settings:
    """The tenant of `domain` (`--domain`), or the primary when none is named."""
    if not domain:
        return tenants[0]
    for tenant in tenants:
        if tenant.domain.lower() == domain.lower():
            return tenant
    known = ", ".join(tenant.domain for tenant in tenants)
    raise TenantError("--domain", f"{domain!r} is not a configured domain (configured: {known})")


def anchor_table_files(tables: list[Any], folder: Path) -> None:
    """Relative file paths in `[[domains]]` tables are relative to the config file's folder, as elsewhere."""
    for table in tables:
        if not isinstance(table, dict):
            continue
        for key in ("about_file", "privacy_policy_file", "terms_of_service_file"):
            if isinstance(table.get(key), str) and table[key]:
                path = Path(table[key]).expanduser()
                if not path.is_absolute():
                    table[key] = str(folder.resolve() / path)
        archive = table.get("archive")
        if isinstance(archive, dict) and isinstance(archive.get("folder"), str) and archive["folder"]:
            path = Path(archive["folder"]).expanduser()
            if not path.is_absolute():
                archive["folder"] = str(folder.resolve() / path)
