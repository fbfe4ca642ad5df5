"""Typed, immutable settings of one Plein instance.

The values are loaded and validated by `plein.config` (file → environment → CLI flags); everything below the
composition root receives a `Settings` object and never reads files or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

LogFormat = Literal["text", "json"]
DomainBlocksAudience = Literal["disabled", "users", "all"]
PageLanguage = Literal["nl", "en"]
RegistrationMode = Literal["closed", "approval", "invite", "open"]
REGISTRATION_MODES: tuple[RegistrationMode, ...] = ("closed", "approval", "invite", "open")
MailSecurity = Literal["starttls", "tls", "none"]
FederationMode = Literal["open", "allowlist"]


@dataclass(frozen=True)
class InstanceSettings:
    """Who this instance is on the network."""

    domain: str = "localhost:8000"
    base_url: str = "http://localhost:8000"
    name: str = "Plein"
    description: str = "A Plein instance: the public square."
    contact_email: str = ""
    # Where security problems are reported (`Contact:` of /.well-known/security.txt): a mailto: or https: URL;
    # empty: mailto: the contact_email (no security.txt when both are empty).
    security_contact: str = ""
    source_url: str = ""
    # ISO 639 codes of the languages the instance is run in (its `languages` in the API), first the main one.
    languages: tuple[str, ...] = ("en",)
    # The language of the web pages and e-mails for a visitor whose account chose none and whose browser
    # asks for none of the two Plein speaks.
    default_language: PageLanguage = "nl"
    # Markdown files (relative to the config file) for the about page, the privacy policy and the terms of
    # service; each is shown on the web and in the API when set.
    about_file: str = ""
    privacy_policy_file: str = ""
    terms_of_service_file: str = ""
    # The day the terms of service took effect (YYYY-MM-DD); unset: the day the file was last changed.
    terms_of_service_date: str = ""
    # Who may see the list of moderated domains (`/api/v1/instance/domain_blocks`), and the reasons: as
    # Mastodon, "disabled", "users" (signed-in users) or "all".
    show_domain_blocks: DomainBlocksAudience = "disabled"
    show_domain_block_reasons: DomainBlocksAudience = "disabled"


@dataclass(frozen=True)
class ServerSettings:
    """Where the process listens and keeps its files."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8000
    # More addresses to listen on (same port), e.g. one per domain of a multi-domain install without a proxy.
    extra_listen_hosts: tuple[str, ...] = ()
    data_dir: Path = Path("data")
    workers: bool = True
    log_level: str = "info"
    log_format: LogFormat = "text"
    # Write the client's address in the access log (personal data: off unless the operator needs it).
    log_client_addresses: bool = False
    # Reverse proxies (CIDRs) whose X-Forwarded-For / X-Forwarded-Proto are believed (plein.proxies).
    trusted_proxies: tuple[str, ...] = ()
    # How long an idle incoming connection stays open (`limits.keepalive_seconds` is the outgoing one).
    # Longer than a proxy's or a peer's keep-alive (nginx upstream: 60 s; Plein's own client: 60 s),
    # so the proxy, not Plein, closes idle connections: a request sent on a connection that the server is
    # closing at that moment fails without an answer (uvicorn's own default is 5 s).
    keepalive_seconds: int = 75


@dataclass(frozen=True)
class DatabaseSettings:
    """Database URL; empty means the embedded SQLite file `<data_dir>/plein.db`."""

    url: str = ""
    # PostgreSQL connections each process keeps open, and how many more it may open for a moment. Beyond
    # `pool_size` every checkout opens a new connection (a server process) and closes it on return: sized
    # too small, a busy process spends its CPU connecting (docs/OPERATIONS.md, sizing). SQLite ignores both.
    pool_size: int = 20
    max_overflow: int = 5
    # The PostgreSQL schema holding this instance's tables (created on first migration); empty: the server's
    # default (`public`). Each extra domain of a multi-domain install gets its own (docs/MULTIDOMAIN.md).
    schema: str = ""


@dataclass(frozen=True)
class RegistrationSettings:
    """Who may sign up: nobody (`closed`: accounts only from the CLI), people with an invite (`invite`),
    anyone once an admin approves (`approval`; an invite skips the wait) or anyone (`open`)."""

    mode: RegistrationMode = "closed"
    # Shown to people about to sign up (the instance's `registrations.message`); plain text.
    message: str = ""

    @property
    def admits_anyone(self) -> bool:
        return admits_anyone(self.mode)


def admits_anyone(mode: RegistrationMode) -> bool:
    """Whether anyone may sign up without an invite (what apps and NodeInfo call open registrations)."""
    return mode in ("approval", "open")


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server that sends e-mail confirmations and password resets. No host: Plein sends no mail,
    and new accounts need no confirmed address."""

    host: str = ""
    port: int = 587
    from_address: str = ""
    # `starttls` (upgrade after connecting, usually port 587), `tls` (implicit TLS, 465) or `none`.
    security: MailSecurity = "starttls"
    user: str = ""
    password: str = ""
    timeout_seconds: float = 30.0
    # Extra trusted root certificates (PEM file) for a mail server on a closed government network, trusted
    # besides the system's roots. Empty: the system's roots only.
    ca_bundle: str = ""


@dataclass(frozen=True)
class FederationSettings:
    """How we talk to other servers."""

    mode: FederationMode = "open"
    authorized_fetch: bool = False
    drop_unsolicited: bool = True
    signature_window_seconds: int = 3600
    allow_private_addresses: tuple[str, ...] = ()
    # Extra trusted root certificates (PEM file) for peers on closed government networks: trusted besides
    # the system's roots. Empty: the system's roots only.
    ca_bundle: str = ""
    # Hosts of the instances whose accounts' verified-agency marks we show (`storage.agency`): a remote
    # actor's claim of the mark counts only when its own instance is one of these.
    trusted_government_instances: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitSettings:
    """Size and time limits on what crosses the network."""

    max_body_bytes: int = 1024 * 1024
    fetch_max_bytes: int = 1024 * 1024
    fetch_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    max_status_characters: int = 500
    delivery_concurrency: int = 32
    per_host_concurrency: int = 8
    keepalive_seconds: float = 60.0
    max_media_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class OAuthSettings:
    password_grant: bool = False


@dataclass(frozen=True)
class PrivacySettings:
    """How long personal data kept for security, and deleted media, are kept."""

    # Failed-login records (they hold the client's address): deleted after this many days.
    security_log_days: int = 14
    # The files of a deleted status's media leave the public folder at once and are deleted after this many
    # days (kept meanwhile for appeals, moderators and the public-records archive).
    deleted_media_days: int = 30


@dataclass(frozen=True)
class AccountSettings:
    """Local accounts' lifecycle."""

    # A person who deletes their own account is disabled at once and deleted for good this many days later
    # (Mastodon keeps 30); until then an admin can call it off (`plein account cancel-deletion`).
    deletion_grace_days: int = 30


@dataclass(frozen=True)
class MediaSettings:
    """How long media nobody uses are kept, and how big a remote video or audio file Plein copies."""

    # Uploads never attached to a status are deleted with their files after this many hours (Mastodon: a day).
    orphan_upload_hours: int = 24
    # Our copies of remote attachments fetched more than this many days ago are deleted by the hourly
    # maintenance run (and `plein media prune`), and fetched again when someone views them; 0 keeps them.
    remote_cache_days: int = 7
    # Remote videos and audio are copied up to this size (images up to limits.max_media_bytes); a larger one
    # stays a link to the remote file.
    remote_video_max_bytes: int = 40 * 1024 * 1024


@dataclass(frozen=True)
class OrganisationSettings:
    """Organisation accounts (docs/ORGANISATIONS.md)."""

    # Audit-trail entries are deleted this many days after they were written (the public-records retention
    # period the agency sets); 0 keeps them for ever. They outlive the accounts they name.
    audit_retention_days: int = 0


@dataclass(frozen=True)
class ArchiveSettings:
    """The public-records archive (Archiefwet, Woo): with `folder` set, a daily job writes the previous UTC
    day of every local account's publications there, one verified package per day (`plein archive`)."""

    folder: str = ""


@dataclass(frozen=True)
class MetricsSettings:
    """Who may read the Prometheus metrics (`/metrics`): clients from `allow_from`, or anyone presenting
    `token` as a Bearer token. `worker_port` > 0 makes `plein worker` serve its own on listen_host:port."""

    token: str = ""
    allow_from: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    worker_port: int = 0


@dataclass(frozen=True)
class SecretSettings:
    """Instance secrets, generated by `plein init`."""

    secret_key: str = ""
    # The server's Web Push (VAPID, RFC 8292) P-256 private key, base64url of its 32 bytes as Mastodon's
    # VAPID_PRIVATE_KEY; `plein init` writes one. Empty: apps cannot subscribe to push notifications.
    vapid_private_key: str = ""


@dataclass(frozen=True)
class Settings:
    """All settings of one instance, grouped as in `config.example.toml`."""

    instance: InstanceSettings = field(default_factory=InstanceSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    organisations: OrganisationSettings = field(default_factory=OrganisationSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    secrets: SecretSettings = field(default_factory=SecretSettings)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL in use (the embedded SQLite file when none is configured)."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.server.data_dir / 'plein.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.instance.base_url.rstrip("/")

    @property
    def domain(self) -> str:
        return self.instance.domain
