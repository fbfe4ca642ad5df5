"""The `plein` command line: init, serve, worker, migrate, account …, invite …, domain …, rule …, announcement …, emoji …, report …, audit list.

Every command reads the config file (`--config`, default `plein.toml`, or `PLEIN_CONFIG`), then the
environment (`PLEIN_SECTION__KEY`), then its own flags, in rising precedence. Errors print one line to
stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from plein.admin import AdminError
from plein.config import ConfigError, load_settings, load_tenants, settings_to_toml
from plein.logs import configure_logging
from plein.media_commands import MediaCommandError
from plein.tenants import TenantError, pick_tenant
from storage.push_keys import new_vapid_private_key
from storage.settings import InstanceSettings, SecretSettings, ServerSettings, Settings

DEFAULT_CONFIG = "plein.toml"


class CommandError(Exception):
    """A command that cannot do what was asked; printed as one line."""


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("PLEIN_CONFIG") or DEFAULT_CONFIG)


def _set_values(args: argparse.Namespace) -> dict[str, str]:
    """`--set section.key=value` pairs, values as text (a list as `a,b` or `["a", "b"]`)."""
    values: dict[str, str] = {}
    for item in args.set or []:
        key, equals, value = item.partition("=")
        if not equals or "." not in key:
            raise CommandError(f"--set expects section.key=value, got {item!r}")
        values[key] = value
    return values


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for flag, key in (("host", "server.listen_host"), ("port", "server.listen_port")):
        if getattr(args, flag, None) is not None:
            overrides[key] = getattr(args, flag)
    if getattr(args, "no_workers", False):
        overrides["server.workers"] = False
    return overrides


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _zero_or_more(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of 0 or more: {text!r}")
    return int(text)


def _tenants(args: argparse.Namespace, *, require_file: bool = True) -> tuple[Settings, ...]:
    """The settings of every domain the config serves (`[[domains]]`), the primary first; only the one
    named by `--domain` when given."""
    path = _config_path(args)
    if not path.exists():
        if require_file:
            raise CommandError(f"no config file at {path}: run `plein init` first (or pass --config)")
        path = None  # type: ignore[assignment]
    tenants = load_tenants(
        path, environ=os.environ, overrides=_overrides(args), text_overrides=_set_values(args)
    )
    if getattr(args, "chosen_domain", None):
        try:
            return (pick_tenant(tenants, args.chosen_domain),)
        except TenantError as error:
            raise CommandError(str(error)) from error
    return tenants


def _settings(args: argparse.Namespace, *, require_file: bool = True) -> Settings:
    """The settings of the domain a command acts on: `--domain`, else the primary."""
    return _tenants(args, require_file=require_file)[0]


# --- init ---------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if path.exists() and not args.force:
        print(f"{path} exists; keeping it (use --force to overwrite)")
        settings = load_settings(path, environ=os.environ)
    else:
        base_url = args.base_url.rstrip("/")
        domain = base_url.split("://", 1)[-1]
        settings = Settings(
            instance=InstanceSettings(domain=domain, base_url=base_url),
            server=ServerSettings(data_dir=_data_dir_for(path, Path(args.data_dir))),
            secrets=SecretSettings(
                secret_key=secrets.token_urlsafe(48), vapid_private_key=new_vapid_private_key()
            ),
        )
        load_settings(None, overrides={"instance.base_url": base_url, "instance.domain": domain})  # validates
        path.write_text(
            "# Plein configuration, written by `plein init`; see config.example.toml\n\n"
            + settings_to_toml(settings)
        )
        path.chmod(0o600)  # holds the secret key
        print(f"wrote {path}")
        settings = load_settings(path, environ=os.environ)
    settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(_migrate(settings))
    print(f"data folder {settings.server.data_dir} ready")
    return 0


def _data_dir_for(config_path: Path, data_dir: Path) -> Path:
    """`--data-dir` (relative to the working directory) as the config file should hold it: relative to the
    file's folder when inside it, else absolute (the file's relative paths are read against its folder)."""
    absolute = data_dir.expanduser().resolve()
    try:
        return absolute.relative_to(config_path.parent.resolve())
    except ValueError:
        return absolute


async def _migrate(settings: Settings) -> None:
    from plein.app import build_context, close_context

    ctx = await build_context(settings)
    await close_context(ctx)


# --- serve / worker / migrate -----------------------------------------------------------------------


def settle_heap() -> None:
    """Before a long-running command serves: take what is loaded by now (modules, ORM metadata, templates) out
    of the garbage collector's walks, and collect the youngest generation less often. A delivery allocates
    hundreds of short-lived containers; with CPython's defaults the collector walks the mostly permanent heap
    of a loaded server again and again (bench/inbox.py: ~0.1 ms of 0.4 ms per delivery)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from plein.app import create_server_app

    tenants = _tenants(args)
    settings = tenants[0]
    configure_logging(settings)
    for tenant in tenants:
        asyncio.run(_first_admin_hint(tenant, _config_path(args), len(tenants) > 1))
    app = create_server_app(tenants)
    settle_heap()
    # log_config=None: the logging configured above stays (uvicorn's own records go through it).
    config = uvicorn.Config(
        app, log_level=settings.server.log_level, log_config=None, **uvicorn_options(settings)
    )
    server = uvicorn.Server(config)
    if not settings.server.extra_listen_hosts:
        server.run()
        return 0
    hosts = (settings.server.listen_host, *settings.server.extra_listen_hosts)
    server.run(sockets=[listening_socket(host, settings.server.listen_port) for host in hosts])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` for uvicorn (`server.extra_listen_hosts`: one port, several addresses)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.set_inheritable(True)
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves Plein (also used by the tests' in-process servers)."""
    return {
        "host": settings.server.listen_host,
        "port": settings.server.listen_port,
        # uvicorn would believe X-Forwarded-For from loopback; plein.proxies decides from server.trusted_proxies.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,  # plein.access_log writes it: no query strings, addresses only when configured
        "timeout_keep_alive": settings.server.keepalive_seconds,
    }


async def _first_admin_hint(settings: Settings, config_path: Path, name_domain: bool = False) -> None:
    from plein.app import build_context, close_context
    from storage.accounts import count_local_users

    ctx = await build_context(settings)
    try:
        async with ctx.db.read() as session:
            users = await count_local_users(session)
    finally:
        await close_context(ctx)
    if users == 0:
        domain = f" --domain {settings.domain}" if name_domain else ""
        print(
            f"No account exists yet{f' on {settings.domain}' if name_domain else ''}. "
            "Create the first admin with:\n"
            f"    {_invoked_as()} --config {config_path}{domain} account create NAME --role admin\n",
            flush=True,
        )


def _invoked_as() -> str:
    """How this program was started (`.venv/bin/plein` under `make run`), so hints can be pasted as-is."""
    program = Path(sys.argv[0])
    try:
        return str(program.resolve().relative_to(Path.cwd()))
    except ValueError:
        return program.name if program.name == "plein" else str(program)


def cmd_worker(args: argparse.Namespace) -> int:
    from plein.app import build_context, close_context, start_workers, stop_workers
    from storage.worker import QueueWorker

    tenants = _tenants(args)  # every domain's queues (or --domain's only)
    settings = tenants[0]
    configure_logging(settings)

    async def run() -> None:
        from archive.daily import ensure_daily_archive
        from storage.recovery import start_beating
        from storage.worker import worker_name

        contexts = []
        started = []
        try:
            for tenant in tenants:
                ctx = await build_context(tenant)
                contexts.append(ctx)
                await start_beating(
                    ctx.db, worker_name()
                )  # and take back the jobs of this host's dead workers
                await ensure_daily_archive(ctx)
            settle_heap()
            for ctx in contexts:
                started += start_workers(ctx)
            if settings.metrics.worker_port:  # this process's own counters; queue gauges come from `serve`
                from plein.worker_metrics import serve_worker_metrics

                serve_worker_metrics(
                    settings.metrics.worker_port,
                    settings.server.listen_host,
                    {ctx.settings.domain: ctx.metrics.registry for ctx in contexts},
                )
            queues = sum(isinstance(worker, QueueWorker) for worker, _ in started)
            print(f"worker running {queues} queue(s); Ctrl-C to stop", flush=True)
            await asyncio.Event().wait()
        finally:
            await stop_workers(started)
            for ctx in contexts:
                await close_context(ctx)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from plein.backup import BackupError, make_backup

    settings = _settings(args)
    out = Path(args.out)
    try:
        summary = make_backup(settings, _config_path(args), out)
    except BackupError as error:
        raise CommandError(str(error)) from error
    print(f"wrote {out}: {summary.database} database, {summary.files} media files, {summary.bytes} bytes")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from plein.backup import BackupError, extract_config, restore_backup

    archive, config = Path(args.archive), _config_path(args)
    try:
        if not config.exists() and extract_config(archive, config):
            print(f"wrote {config} from the backup")
        settings = _settings(args)
        summary = restore_backup(settings, archive, force=args.force)
    except BackupError as error:
        raise CommandError(str(error)) from error
    asyncio.run(_migrate(settings))
    print(
        f"restored {summary.database} database and {summary.files} media files into {settings.server.data_dir}"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from plein.doctor import diagnose

    findings = asyncio.run(diagnose(_settings(args)))
    for finding in findings:
        print(finding.line())
    failed = sum(finding.level == "fail" for finding in findings)
    warned = sum(finding.level == "warn" for finding in findings)
    print(f"{failed} to fix, {warned} to look at" if failed or warned else "all good")
    return 1 if failed else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    tenants = _tenants(args)  # every domain (or --domain's only)
    for settings in tenants:
        asyncio.run(_migrate(settings))
        if len(tenants) > 1 or getattr(args, "chosen_domain", None):
            print(f"{settings.domain}: database is up to date")
        else:
            print("database is up to date")
    return 0


# --- commands that work on the database --------------------------------------------------------------


def _with_context(args: argparse.Namespace, work: Callable[[Any], Awaitable[int]]) -> int:
    from plein.app import build_context, close_context

    settings = _settings(args)

    async def run() -> int:
        ctx = await build_context(settings)
        try:
            return await work(ctx)
        finally:
            await close_context(ctx)

    return asyncio.run(run())


def _on_database(module_name: str, command: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand that runs `command(ctx, args)` of `module_name` with a Context of the configured
    instance; the module is imported only when its subcommand runs."""

    def handler(args: argparse.Namespace) -> int:
        run_command = getattr(importlib.import_module(module_name), command)
        return _with_context(args, lambda ctx: run_command(ctx, args))

    return handler


def _moment(text: str) -> datetime:
    """An argparse type: an ISO 8601 date or time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str) -> date:
    """An argparse type: a day as YYYY-MM-DD (UTC)."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from error


def cmd_archive(args: argparse.Namespace) -> int:
    from plein import archive_commands

    if args.action == "verify":
        return archive_commands.verify_command(args)
    return _with_context(args, lambda ctx: archive_commands.export_command(ctx, args))


# --- argument parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plein", description="Plein: a federated microblogging server.")
    parser.add_argument("--config", help=f"config file (default: $PLEIN_CONFIG or ./{DEFAULT_CONFIG})")
    parser.add_argument(
        "--set", action="append", metavar="SECTION.KEY=VALUE", help="override one setting (repeatable)"
    )
    parser.add_argument(
        "--log-level", default="warning", help="logging level for commands (default: warning)"
    )
    parser.add_argument(
        "--domain",
        dest="chosen_domain",  # `plein domain block DOMAIN` has a `domain` of its own
        help="with [[domains]]: the domain a command acts on (default: the primary, [instance]); "
        "migrate and worker take every domain unless one is named",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a config file, create the data folder and the database")
    init.add_argument("--base-url", default="http://localhost:8000", help="public base URL of the instance")
    init.add_argument("--data-dir", default="data", help="data folder (default: ./data)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    init.set_defaults(handler=cmd_init)

    serve = commands.add_parser("serve", help="serve HTTP (and run the queue workers unless --no-workers)")
    serve.add_argument("--host", help="listen address (server.listen_host)")
    serve.add_argument("--port", type=int, help="listen port (server.listen_port)")
    serve.add_argument("--no-workers", action="store_true", help="do not run queue workers in this process")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run the queue workers only")
    worker.set_defaults(handler=cmd_worker)

    backup = commands.add_parser(
        "backup",
        help="write one archive with the database (a consistent snapshot while serving), media and config",
    )
    backup.add_argument("--out", required=True, help="the archive to write (.tar.gz)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore", help="put a backup's database and media in place (and its config, if --config names none)"
    )
    restore.add_argument("archive", help="an archive written by `plein backup`")
    restore.add_argument(
        "--force", action="store_true", help="overwrite a database or media folder with data"
    )
    restore.set_defaults(handler=cmd_restore)

    doctor = commands.add_parser(
        "doctor",
        help="check config, database, migrations, keys, workers, clock and the public URL; say what to fix",
    )
    doctor.set_defaults(handler=cmd_doctor)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    account = commands.add_parser("account", help="manage local accounts")
    account_commands = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = account_commands.add_parser("create", help="create an account (prints a generated password)")
    create.add_argument("username")
    create.add_argument("--email")
    create.add_argument("--password", help="use this password instead of generating one")
    create.add_argument("--role", choices=("user", "moderator", "admin"), default="user")
    account_commands.add_parser("list", help="list local accounts")
    export = account_commands.add_parser(
        "export", help="write one account's data as a zip (a data-subject request, or a move elsewhere)"
    )
    export.add_argument("username")
    export.add_argument("--out", required=True, help="the zip file to write")
    delete_account = account_commands.add_parser(
        "delete",
        help="delete an account for good: Delete sent to every known server, posts, media and login erased",
    )
    delete_account.add_argument("username")
    delete_account.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    cancel_deletion = account_commands.add_parser(
        "cancel-deletion", help="call off a deletion its owner asked for, during the grace period"
    )
    cancel_deletion.add_argument("username")
    alias = account_commands.add_parser(
        "alias", help="set the accounts this one is also known as (before they move here)"
    )
    alias.add_argument("username")
    alias.add_argument("accounts", nargs="*", help="user@host addresses or actor URLs (none: clear)")
    move = account_commands.add_parser(
        "move", help="move this account to another (which lists it as an alias); followers follow there"
    )
    move.add_argument("username")
    move.add_argument("target", help="user@host address or actor URL of the new account")
    import_ = account_commands.add_parser("import", help="import Mastodon CSV exports into this account")
    import_.add_argument("username")
    import_.add_argument("--following", help="following_accounts.csv")
    import_.add_argument("--blocks", help="blocked_accounts.csv")
    import_.add_argument("--mutes", help="muted_accounts.csv")
    import_.add_argument("--domain-blocks", dest="domain_blocks", help="blocked_domains.csv")
    password = account_commands.add_parser(
        "password", help="set a new password (revokes the account's tokens)"
    )
    password.add_argument("username")
    password.add_argument("--password", help="use this password instead of generating one")
    for name, text in (
        ("suspend", "suspend an account"),
        ("unsuspend", "lift a suspension"),
        ("disable", "disable an account's login (its sessions end, its apps are refused)"),
        ("enable", "enable a disabled login again"),
        ("sensitive", "force an account's media sensitive"),
        ("unsensitive", "stop forcing an account's media sensitive"),
    ):
        action = account_commands.add_parser(name, help=text)
        action.add_argument("username")
        action.add_argument("--text", default="", help="why (kept in the audit log)")
        action.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    promote = account_commands.add_parser("promote", help="set an account's role")
    promote.add_argument("username")
    promote.add_argument("--role", choices=("user", "moderator", "admin"), default="admin")
    agency = account_commands.add_parser(
        "agency",
        help="mark an account as a government organisation (its register identifier and official website)",
    )
    agency.add_argument("username")
    agency.add_argument(
        "--id", help="TOOI URI (https://identifier.overheid.nl/tooi/id/TYPE/CODE) or 20-digit OIN"
    )
    agency.add_argument("--website", help="the organisation's official https website")
    agency.add_argument("--clear", action="store_true", help="take the mark away")
    account_commands.add_parser("pending", help="list sign-ups waiting for approval, oldest first")
    for name, text in (
        ("approve", "let a sign-up waiting for approval in"),
        ("reject", "turn a sign-up waiting for approval away (deletes its account)"),
    ):
        account_commands.add_parser(name, help=text).add_argument("username")
    account.set_defaults(handler=_on_database("plein.admin", "account_command"))

    instance = commands.add_parser("instance", help="the instance's settings as changed over the config")
    instance_commands = instance.add_subparsers(dest="action", required=True, metavar="ACTION")
    instance_commands.add_parser("show", help="every setting: its value in force and where it comes from")
    instance_set = instance_commands.add_parser("set", help="change a setting over the config's value")
    instance_set.add_argument("key", help="name, description, contact_email, registration_mode, …")
    instance_set.add_argument(
        "value", help="the new value; '-' reads it from standard input (the long texts)"
    )
    instance_commands.add_parser("reset", help="bring back the config's value").add_argument("key")
    instance.set_defaults(handler=_on_database("plein.instance_admin", "instance_command"))

    invite = commands.add_parser("invite", help="invite links for signing up")
    invite_commands = invite.add_subparsers(dest="action", required=True, metavar="ACTION")
    invite_create = invite_commands.add_parser("create", help="make an invite link (printed once)")
    invite_create.add_argument(
        "--max-uses", dest="max_uses", type=int, help="sign-ups it admits (default: any)"
    )
    invite_create.add_argument(
        "--expires-in-hours", dest="expires_in_hours", type=float, help="how long it works (default: forever)"
    )
    invite_commands.add_parser("list", help="every invite: state, uses, expiry")
    invite_commands.add_parser("revoke", help="make an invite admit nobody more").add_argument("id", type=int)
    invite.set_defaults(handler=_on_database("plein.signup_admin", "invite_command"))

    domain = commands.add_parser("domain", help="moderate remote domains")
    domain_commands = domain.add_subparsers(dest="action", required=True, metavar="ACTION")
    block = domain_commands.add_parser("block", help="suspend or silence a domain")
    block.add_argument("domain")
    block.add_argument("--severity", choices=("suspend", "silence", "noop"), default="suspend")
    block.add_argument("--reject-media", action="store_true")
    block.add_argument("--reject-reports", action="store_true", help="drop reports from its accounts")
    block.add_argument("--public-comment", default="", help="the reason published with the moderated servers")
    block.add_argument("--private-comment", default="", help="a note for staff only")
    block.add_argument("--obfuscate", action="store_true", help="publish the domain with `*` for letters")
    block.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    unblock = domain_commands.add_parser("unblock", help="remove a domain block")
    unblock.add_argument("domain")
    unblock.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    allow = domain_commands.add_parser("allow", help="add a domain to the federation allow-list")
    allow.add_argument("domain")
    allow.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    disallow = domain_commands.add_parser("disallow", help="remove a domain from the allow-list")
    disallow.add_argument("domain")
    disallow.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    domain_commands.add_parser("list", help="list blocked and allowed domains")
    domain.set_defaults(handler=_on_database("plein.admin", "domain_command"))

    relay = commands.add_parser("relay", help="subscribe to relays (wider reach for public posts)")
    relay_commands = relay.add_subparsers(dest="action", required=True, metavar="ACTION")
    relay_add = relay_commands.add_parser("add", help="follow a relay: give its inbox URL")
    relay_add.add_argument("url", help="the relay's inbox, e.g. https://relay.example/inbox")
    relay_remove = relay_commands.add_parser("remove", help="unfollow a relay (sends Undo Follow)")
    relay_remove.add_argument("url", help="the relay's inbox URL, as added")
    relay_commands.add_parser("list", help="list relays: state, last activity, counts")
    relay.set_defaults(handler=_on_database("plein.relay_admin", "relay_command"))

    rule = commands.add_parser("rule", help="the server's rules (shown to users, cited by reports)")
    rule_commands = rule.add_subparsers(dest="action", required=True, metavar="ACTION")
    rule_commands.add_parser("list", help="list the rules in force, in order")
    rule_add = rule_commands.add_parser("add", help="add a rule after the others")
    rule_add.add_argument("text")
    rule_add.add_argument("--hint", default="", help="a longer explanation shown under the rule")
    rule_remove = rule_commands.add_parser("remove", help="take a rule out of force")
    rule_remove.add_argument("id", type=_positive)
    rule.set_defaults(handler=_on_database("plein.admin", "rule_command"))

    announcement = commands.add_parser("announcement", help="announcements to every local user")
    announcement_commands = announcement.add_subparsers(dest="action", required=True, metavar="ACTION")
    announcement_commands.add_parser("list", help="list announcements, oldest first")
    announcement_add = announcement_commands.add_parser("add", help="publish an announcement now")
    announcement_add.add_argument("text", help="written like a post: links, @local mentions, #hashtags")
    announcement_add.add_argument(
        "--starts-at", type=_moment, help="when what it announces starts (ISO 8601)"
    )
    announcement_add.add_argument("--ends-at", type=_moment, help="when it ends; then it is no longer shown")
    announcement_add.add_argument("--all-day", action="store_true", help="the start and end are whole days")
    announcement_withdraw = announcement_commands.add_parser("withdraw", help="take an announcement down")
    announcement_withdraw.add_argument("id", type=_positive)
    announcement.set_defaults(handler=_on_database("plein.admin", "announcement_command"))

    archive = commands.add_parser("archive", help="public-records packages (Archiefwet, Woo): export, verify")
    archive_commands = archive.add_subparsers(dest="action", required=True, metavar="ACTION")
    archive_export = archive_commands.add_parser(
        "export", help="write a BagIt package of what local accounts published and received in a period"
    )
    archive_export.add_argument("--account", help="one local account (default: all)")
    archive_export.add_argument(
        "--since", type=_day, help="first day, YYYY-MM-DD (UTC; default: the beginning)"
    )
    archive_export.add_argument("--until", type=_day, help="last day, included (default: up to now)")
    archive_export.add_argument("--out", required=True, help="a new or empty folder")
    archive_verify = archive_commands.add_parser("verify", help="check a package is complete and unchanged")
    archive_verify.add_argument("folder")
    archive.set_defaults(handler=cmd_archive)

    org = commands.add_parser("org", help="organisation accounts: staff acting as one account, roles, audit")
    org_commands = org.add_subparsers(dest="action", required=True, metavar="ACTION")
    org_create = org_commands.add_parser(
        "create",
        help="make a local account an organisation (its own password stops working), or change --review",
    )
    org_create.add_argument("username")
    org_create.add_argument(
        "--review",
        choices=("on", "off"),
        default="off",
        help="authors' posts wait for a publisher's approval",
    )
    org_add = org_commands.add_parser("add", help="add a staff login to an organisation, or change its role")
    org_add.add_argument("organisation")
    org_add.add_argument("member")
    org_add.add_argument("--role", choices=("author", "editor", "publisher"), required=True)
    org_remove = org_commands.add_parser("remove", help="take a staff login out (its tokens for it end)")
    org_remove.add_argument("organisation")
    org_remove.add_argument("member")
    org_commands.add_parser("members", help="list an organisation's staff and roles").add_argument(
        "organisation"
    )
    org_audit = org_commands.add_parser("audit", help="export an organisation's audit trail")
    org_audit.add_argument("organisation")
    org_audit.add_argument("--format", choices=("csv", "json"), default="csv")
    org_audit.add_argument("--out", help="write to this file (default: standard output)")
    org_commands.add_parser("drafts", help="list drafts waiting for review or returned").add_argument(
        "organisation"
    )
    org_approve = org_commands.add_parser("approve", help="publish a draft now, or at --at")
    org_approve.add_argument("organisation")
    org_approve.add_argument("draft", type=int)
    org_approve.add_argument("--at", type=_moment, help="when to publish (ISO 8601; default: now)")
    org_return = org_commands.add_parser("return", help="send a draft back to its author with a comment")
    org_return.add_argument("organisation")
    org_return.add_argument("draft", type=int)
    org_return.add_argument("--comment", required=True)
    org.set_defaults(handler=_on_database("plein.organisation_commands", "organisation_command"))

    group = commands.add_parser("group", help="working groups: Group actors people follow and post to")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a local group")
    create.add_argument("name", help="its username (the group is @name@this-server)")
    create.add_argument("--display-name", default="", help="the name shown (default: the username)")
    create.add_argument(
        "--private",
        action="store_true",
        help="joins are follow requests its moderators accept or decline (manuallyApprovesFollowers)",
    )
    moderator = actions.add_parser("moderator", help="make a local account a moderator, or no longer")
    moderator.add_argument("change", choices=("add", "remove"))
    moderator.add_argument("group")
    moderator.add_argument("account", help="a local account's username")
    actions.add_parser("moderators", help="list a group's moderators").add_argument("group")
    remove = actions.add_parser(
        "remove", help="take a post out of the group (Undo Announce; a post written here is deleted)"
    )
    remove.add_argument("group")
    remove.add_argument("status", help="the status's id here, or its URI")
    remove.add_argument("--by", required=True, help="the moderator acting (a local username)")
    remove.add_argument("--reason", default="", help="why (sent with the act as Lemmy's `summary`, audited)")
    ban = actions.add_parser("ban", help="ban an account from the group (the group blocks it)")
    ban.add_argument("group")
    ban.add_argument("account", help="user@host, an actor URL, or a local username")
    ban.add_argument("--by", required=True, help="the moderator acting (a local username)")
    ban.add_argument("--reason", default="", help="why (sent with the act as Lemmy's `summary`, audited)")
    unban = actions.add_parser(
        "unban", help="lift a ban (the group's block goes; the account may join again)"
    )
    unban.add_argument("group")
    unban.add_argument("account", help="user@host, an actor URL, or a local username")
    unban.add_argument("--by", required=True, help="the moderator acting (a local username)")
    unban.add_argument("--reason", default="", help="why (sent with the act as Lemmy's `summary`, audited)")
    group.set_defaults(handler=_on_database("plein.group_commands", "group_command"))

    emoji = commands.add_parser("emoji", help="the server's custom emojis (:shortcode: in posts and names)")
    emoji_commands = emoji.add_subparsers(dest="action", required=True, metavar="ACTION")
    emoji_commands.add_parser("list", help="list the custom emojis")
    emoji_add = emoji_commands.add_parser(
        "add", help="add a custom emoji (PNG, GIF or WebP, at most 256 KiB)"
    )
    emoji_add.add_argument("shortcode", help="2 or more letters, digits or underscores")
    emoji_add.add_argument("file", help="the image file")
    emoji_add.add_argument("--category", default=None, help="the group apps show it under in the picker")
    emoji_add.add_argument("--hidden", action="store_true", help="usable, but not shown in apps' pickers")
    emoji_remove = emoji_commands.add_parser("remove", help="delete a custom emoji and its image")
    emoji_remove.add_argument("shortcode")
    emoji.set_defaults(handler=_on_database("plein.admin", "emoji_command"))

    trends = commands.add_parser(
        "trends", help="review what trends: hashtags and links need an allow, statuses a refusal"
    )
    trends_commands = trends.add_subparsers(dest="action", required=True, metavar="ACTION")
    trends_list = trends_commands.add_parser(
        "list", help="hashtags and links in use (with their review) and trending statuses"
    )
    trends_list.add_argument("--limit", type=_positive, default=20)
    for verb, text in (
        ("allow-tag", "let a hashtag trend"),
        ("reject-tag", "keep a hashtag out of the trends"),
    ):
        trends_commands.add_parser(verb, help=text).add_argument("name")
    for verb, text in (
        ("allow-status", "let a refused status trend again"),
        ("reject-status", "keep a status out"),
    ):
        trends_commands.add_parser(verb, help=text).add_argument("id", type=_positive)
    for verb, text in (
        ("allow-link", "let a link (its preview card's URL) trend"),
        ("reject-link", "keep a link out of the trends"),
    ):
        trends_commands.add_parser(verb, help=text).add_argument("url")
    trends.set_defaults(handler=_on_database("plein.admin", "trends_command"))

    media = commands.add_parser("media", help="the media cache: our copies of remote attachments")
    media_commands = media.add_subparsers(dest="action", required=True, metavar="ACTION")
    prune = media_commands.add_parser(
        "prune",
        help="delete copies of remote attachments fetched over N days ago (fetched again when viewed)",
    )
    prune.add_argument("--days", type=_zero_or_more, help="default: media.remote_cache_days")
    prune.add_argument("--dry-run", action="store_true", help="print what would go, change nothing")
    media.set_defaults(handler=_on_database("plein.media_commands", "media_command"))

    report = commands.add_parser(
        "report", help="reports for moderators (received Flags and local users' reports)"
    )
    report_commands = report.add_subparsers(dest="action", required=True, metavar="ACTION")
    report_commands.add_parser("list", help="list unresolved reports")
    report_show = report_commands.add_parser("show", help="one report in full")
    report_show.add_argument("id", type=_positive)
    report_resolve = report_commands.add_parser("resolve", help="close a report with no action")
    report_resolve.add_argument("id", type=_positive)
    report_resolve.add_argument("--note", default="", help="the moderator's note, kept in the audit log")
    report_action = report_commands.add_parser("action", help="act on what a report reports, resolving it")
    report_action.add_argument("id", type=_positive)
    report_action.add_argument("--note", default="", help="the moderator's note, kept in the audit log")
    chosen = report_action.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--suspend", action="store_true", help="suspend the reported account")
    chosen.add_argument("--silence", action="store_true", help="silence the reported account")
    chosen.add_argument("--delete-statuses", action="store_true", help="delete the reported statuses")
    report.set_defaults(handler=_on_database("plein.admin", "report_command"))

    audit = commands.add_parser("audit", help="the moderation audit log")
    audit_commands = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    audit_list = audit_commands.add_parser("list", help="list moderation actions, newest first")
    audit_list.add_argument("--limit", type=_positive, default=50, help="how many entries (default: 50)")
    audit_list.add_argument("--action", default="", help="only this action (e.g. domain.block)")
    audit_list.add_argument("--actor", default="", help="only this actor (e.g. @alice or cli:root)")
    audit.set_defaults(handler=_on_database("plein.admin", "audit_command"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args))
    except (ConfigError, CommandError, AdminError, MediaCommandError) as error:
        print(f"plein: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
