"""`plein doctor`: check an installation the way an operator would, and say what to fix.

Read-only: it opens the database without migrating it, and talks to the instance only through its public
URL (as the rest of the fediverse will). Each finding is `ok`, `warn` (works, but should be looked at) or
`fail` (federation or logins will not work); the command exits 1 when anything fails.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx
from sqlalchemy import func, select

from apub.client import trusting
from storage.accounts import INSTANCE_ACTOR_USERNAME
from storage.db import Database
from storage.migrate import pending_revisions
from storage.models import Account, Job, LocalKey, WorkerProcess
from storage.pg_bus import BUS_CONNECTIONS
from storage.pool_sizing import SCALE_OUT_PROCESSES, connection_budget, connections_per_process
from storage.settings import Settings
from storage.types import utcnow

Level = Literal["ok", "warn", "fail"]
CLOCK_TOLERANCE = timedelta(seconds=30)  # signatures allow an hour; peers' clocks are rarely that far off
WORKER_SILENCE = timedelta(seconds=60)


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.level:4}  {self.check}: {self.message}" + (
            f"\n      fix: {self.fix}" if self.fix else ""
        )


def _config_findings(settings: Settings) -> list[Finding]:
    findings = []
    secret = settings.secrets.secret_key
    if len(secret) < 32:
        findings.append(
            Finding(
                "fail",
                "secret key",
                "secrets.secret_key is missing or shorter than 32 characters",
                "run `plein init --force` on a copy, or set a long random value",
            )
        )
    else:
        findings.append(Finding("ok", "secret key", "set"))
    if settings.federation.allow_private_addresses:
        findings.append(
            Finding(
                "warn",
                "SSRF guard",
                "federation.allow_private_addresses is set: outbound requests may reach private networks",
                "empty it on a public server",
            )
        )
    if not settings.base_url.startswith("https://"):
        findings.append(
            Finding(
                "warn",
                "public URL",
                f"{settings.base_url} is not https: other servers will refuse to federate",
                "serve through a TLS proxy and set instance.base_url to https://…",
            )
        )
    if not settings.instance.contact_email:
        findings.append(
            Finding(
                "warn",
                "contact",
                "instance.contact_email is empty: apps show the first admin's address, or none",
                "set the agency's contact address (the AVG/GDPR and Woo contact point)",
            )
        )
    if not settings.secrets.vapid_private_key:
        findings.append(
            Finding(
                "warn",
                "web push",
                "secrets.vapid_private_key is empty: apps cannot get push notifications",
                "set one (`plein init` on a copy writes a fresh config with one)",
            )
        )
    data_dir = settings.server.data_dir
    if not data_dir.is_dir() or not os.access(data_dir, os.W_OK):
        findings.append(
            Finding(
                "fail",
                "data folder",
                f"{data_dir} is missing or not writable",
                "create it and give the service user write access",
            )
        )
    else:
        findings.append(Finding("ok", "data folder", f"{data_dir} is writable"))
    return findings


async def _database_findings(db: Database) -> tuple[list[Finding], datetime | None]:
    try:
        pending = await pending_revisions(db)
    except Exception as error:  # any failure to reach the database is the finding
        return [
            Finding(
                "fail",
                "database",
                f"cannot be read: {str(error)[:200]}",
                "check database.url and that the server runs",
            )
        ], None
    findings = [Finding("ok", "database", "reachable")]
    if pending:
        findings.append(
            Finding(
                "fail",
                "migrations",
                f"{len(pending)} not applied ({', '.join(pending[:3])}…)",
                "run `plein migrate`",
            )
        )
        return findings, None
    findings.append(Finding("ok", "migrations", "the schema is current"))
    now = utcnow()
    async with db.read() as session:
        database_now = None
        if not db.is_sqlite:
            database_now = (await session.execute(select(func.now()))).scalar_one()
        without_keys = await session.scalar(
            select(func.count())
            .select_from(Account)
            .outerjoin(LocalKey, LocalKey.account_id == Account.id)
            .where(Account.domain.is_(None), LocalKey.account_id.is_(None))
        )
        instance_actor = await session.scalar(
            select(func.count()).where(Account.domain.is_(None), Account.username == INSTANCE_ACTOR_USERNAME)
        )
        failed = await session.scalar(select(func.count()).select_from(Job).where(Job.state == "failed"))
        oldest_due = await session.scalar(
            select(func.min(Job.next_try_at)).where(Job.state == "pending", Job.next_try_at <= now)
        )
        workers = await session.scalar(
            select(func.count())
            .select_from(WorkerProcess)
            .where(WorkerProcess.seen_at > now - WORKER_SILENCE)
        )
    if without_keys:
        findings.append(
            Finding(
                "fail",
                "keys",
                f"{without_keys} local accounts have no signing keys",
                "recreate them; a restore from backup keeps keys",
            )
        )
    elif not instance_actor:
        findings.append(
            Finding("warn", "keys", "the instance actor does not exist yet", "start `plein serve` once")
        )
    else:
        findings.append(Finding("ok", "keys", "every local account can sign"))
    if database_now is not None and abs(database_now - now) > CLOCK_TOLERANCE:
        findings.append(
            Finding(
                "warn",
                "clock",
                f"this machine and the database disagree by {abs(database_now - now)}",
                "run NTP (systemd-timesyncd or chrony) on both",
            )
        )
    if workers:
        findings.append(Finding("ok", "workers", f"{workers} worker processes alive"))
    else:
        findings.append(
            Finding(
                "warn",
                "workers",
                "no worker process has reported in the last minute: nothing is delivered or received",
                "start `plein serve` (with workers) or `plein worker`",
            )
        )
    if oldest_due is not None and now - oldest_due > timedelta(minutes=5):
        findings.append(
            Finding(
                "warn",
                "queue",
                f"the oldest due job has waited {now - oldest_due}",
                "see `/metrics` (plein_queue_jobs) and the workers' logs",
            )
        )
    if failed:
        findings.append(Finding("warn", "queue", f"{failed} jobs failed for good (kept for the record)"))
    return findings, database_now


async def _public_url_findings(settings: Settings, *, verify: ssl.SSLContext) -> list[Finding]:
    url = f"{settings.base_url}/api/v1/instance"
    try:
        async with httpx.AsyncClient(timeout=10, verify=verify, follow_redirects=False) as client:
            response = await client.get(url)
    except httpx.HTTPError as error:
        return [
            Finding(
                "fail",
                "public URL",
                f"{url} cannot be reached: {error!r}",
                "check DNS, the proxy (deploy/nginx/plein.conf) and that `plein serve` runs",
            )
        ]
    if response.status_code != 200:
        return [
            Finding(
                "fail",
                "public URL",
                f"{url} answered {response.status_code}",
                "check the proxy passes requests to plein serve",
            )
        ]
    findings = []
    try:
        uri = response.json().get("uri")
    except ValueError:
        uri = None
    if uri != settings.domain:
        findings.append(
            Finding(
                "fail",
                "public URL",
                f"{url} is served by another instance ({uri!r})",
                "point the proxy at this instance, or fix instance.domain",
            )
        )
    else:
        findings.append(Finding("ok", "public URL", f"{settings.base_url} reaches this instance"))
    date = response.headers.get("date")
    if date:
        drift = abs(parsedate_to_datetime(date) - datetime.now(UTC))
        level: Level = "warn" if drift > CLOCK_TOLERANCE else "ok"
        findings.append(
            Finding(
                level,
                "clock",
                f"this machine and the server answering differ by {drift}",
                "run NTP" if level == "warn" else "",
            )
        )
    return findings


async def _connection_findings(db: Database, settings: Settings) -> list[Finding]:
    """On PostgreSQL: how many Plein processes with this pool fit under the server's `max_connections`."""
    if db.is_sqlite:
        return []
    try:
        budget = await connection_budget(db)
    except Exception as error:  # reported by the database check already, or a server hiding pg_settings
        return [Finding("warn", "connections", f"max_connections cannot be read: {str(error)[:200]}")]
    pool_size, max_overflow = settings.database.pool_size, settings.database.max_overflow
    per_process = connections_per_process(pool_size, max_overflow)
    fit = budget.processes_that_fit(pool_size, max_overflow)
    message = (
        f"max_connections {budget.max_connections} ({budget.reserved} reserved) holds {fit} Plein processes "
        f"of {per_process} connections (pool_size {pool_size} + max_overflow {max_overflow} + "
        f"{BUS_CONNECTIONS} for the event bus)"
    )
    if fit >= SCALE_OUT_PROCESSES:
        return [Finding("ok", "connections", message)]
    return [
        Finding(
            "warn",
            "connections",
            f"{message}: fewer than {SCALE_OUT_PROCESSES} (two web, two workers), so connections will be "
            "refused under load",
            "raise max_connections in postgresql.conf, or lower database.pool_size / database.max_overflow "
            "(docs/OPERATIONS.md, sizing)",
        )
    ]


async def diagnose(settings: Settings) -> list[Finding]:
    """Every finding, in the order an operator would fix them."""
    findings = _config_findings(settings)
    db = Database(settings.database_url, schema=settings.database.schema)
    try:
        database, _ = await _database_findings(db)
        if not any(finding.level == "fail" and finding.check == "database" for finding in database):
            database += await _connection_findings(db, settings)
    finally:
        await db.dispose()
    findings += database
    # The public URL is checked as peers will reach it, trusting the same roots as federation does.
    findings += await _public_url_findings(settings, verify=trusting(settings.federation.ca_bundle))
    return findings
