"""The whole web interface walked in a real browser (`support.browser`: Debian's Chromium driven by
Playwright), with one browser and one instance per backend (the walk runs on SQLite and on PostgreSQL; the
axe check, which reads no backend, on SQLite), with mail going to a real local SMTP server (aiosmtpd).

- With JavaScript disabled (every action a plain form post): an admin makes an invite on /web/invites; a
  new person opens the invite link, signs up, reads the confirmation mail, opens its link, logs in, posts
  with an image and its alt text and finds the image with that alt text on the post's page, follows a
  hashtag from its page and gets its new posts at home, and reports a post with a category, a rule and a
  comment. The admin, as moderator, takes the report from /web/admin/reports and resolves it by limiting
  the account, then blocks a spam domain: the preview's dry-run counts first, then the confirmation.
- axe-core runs on every page template in Dutch and in English (reached as a visitor, a signed-in user, an
  admin, or as the answer to a form post) and finds no serious or critical WCAG 2.1 A/AA violation; no page
  carries a script of its own, so each works the same with JavaScript disabled.

With PLEIN_SHOTS set to a folder, the walk also leaves screenshots of the main pages there (for people
reading about the web interface; nothing checks them).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy import select

import moderation
import registration
from moderation.rules import add_rule
from outbox import actions
from outbox.uploads import upload_image
from plein.admin import account_command
from plein.jobs import job_handlers
from plein.organisation_commands import organisation_command
from storage.accounts import local_account_by_username, user_for_account
from storage.models import Account, AccountWarning, DeliveryHost, DomainBlock, Follow, Job, Report
from storage.tags import followed_tags_query
from storage.types import utcnow
from storage.worker import drain
from support.accounts import stored_remote_account
from support.browser import all_violations, chromium, log_in, serious_violations
from support.databases import postgres_database, sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.mailbox import Mailbox, link_in, smtp_server
from support.oauth import OOB, make_user, register_app
from support.web import PASSWORD, png_bytes

# The axe check opens some eighty pages: on a machine busy with other work that outlasts the suite's usual
# five minutes per test.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(900)]

# The templates render the same on either backend: the axe check needs only one of them.
ON_SQLITE = pytest.mark.parametrize("walk", ["sqlite"], indirect=True)
MAIL_HOST = "127.0.0.130"  # this worktree's loopback address for the SMTP server
LOCALES = ("nl-NL", "en-GB")
ADMIN = "beheer"
NEWCOMER = "waterschap"
NEWCOMER_EMAIL = "nieuw@waterschap.example"
ALT_TEXT = "Luchtfoto van de dijk bij hoogwater"
TAG = "dijkbewaking"
RULE = "Geen reclame of spam"
SPAM_DOMAIN = "reclame.example"
# The pages of the axe check that get a screenshot (with PLEIN_SHOTS), by file name.
SHOTS = {
    "profile": "profile",
    "status with thread": "status-thread",
    "signed-in hashtag": "tag",
    "compose": "compose",
    "home timeline": "home",
    "report form": "report-form",
    "report": "moderation-report",
}


@dataclass
class Walk:
    """The module's instance, its mailbox and browser, and what the set-up made."""

    instance: RunningInstance
    mailbox: Mailbox
    browser: Browser
    shots: Path | None

    @property
    def ctx(self) -> Any:
        assert self.instance.ctx is not None
        return self.instance.ctx

    def url(self, path: str) -> str:
        return self.instance.base_url + path

    async def run_jobs(self) -> None:
        """Send what is queued (the mails among it) now."""
        await drain(self.ctx.db, job_handlers(self.ctx))

    async def shoot(self, page: Page, name: str) -> None:
        if self.shots is not None:
            await page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgres"])
async def walk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Walk]:
    """The walk runs on each backend; the page checks (`ON_SQLITE`) once, since they read no backend."""
    folder: Path = tmp_path_factory.mktemp("walk")
    policy = folder / "privacy.md"
    policy.write_text("# Privacy\n\nWij bewaren zo min mogelijk.\n")
    shots = Path(os.environ["PLEIN_SHOTS"]) if os.environ.get("PLEIN_SHOTS") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        database_url = (
            sqlite_url(str(folder))
            if request.param == "sqlite"
            else await stack.enter_async_context(postgres_database())
        )
        mailbox = await stack.enter_async_context(smtp_server(MAIL_HOST))
        settings = make_settings(
            folder,
            database_url=database_url,
            **{
                "registration.mode": "invite",
                "instance.privacy_policy_file": str(policy),
                **mailbox.settings(),
            },
        )
        async with serve_in_process(settings) as instance, chromium(with_axe=True) as browser:
            assert instance.ctx is not None
            # The admin is made as an operator would, with `plein account create … --role admin`.
            await account_command(
                instance.ctx,
                argparse.Namespace(
                    action="create",
                    username=ADMIN,
                    password=PASSWORD,
                    email="beheer@example.test",
                    role="admin",
                ),
            )
            await add_rule(instance.ctx, RULE, actor="cli")
            yield Walk(instance=instance, mailbox=mailbox, browser=browser, shots=shots)


async def _submit(page: Page, form: str = "main form") -> None:
    """Press the submit button of `form` and wait for the answer to load."""
    async with page.expect_navigation():
        await page.click(f"{form} button[type=submit]")


async def _make_invite(walk: Walk, admin: BrowserContext) -> str:
    page = await admin.new_page()
    await page.goto(walk.url("/web/invites"))
    await page.select_option("#invite-max-uses", "1")
    await page.select_option("#invite-expires-in", "86400")
    await _submit(page)
    link = (await page.locator("#new-invite-link").inner_text()).strip()
    assert link.startswith(walk.url("/invite/"))
    await page.close()
    return link


async def _sign_up_and_confirm(walk: Walk, newcomer: BrowserContext, invite_link: str) -> None:
    page = await newcomer.new_page()
    await page.goto(invite_link)
    assert await page.locator("html").get_attribute("lang") == "nl"
    await page.fill("#sign-up-username", NEWCOMER)
    await page.fill("#sign-up-email", NEWCOMER_EMAIL)
    await page.fill("#sign-up-password", PASSWORD)
    await page.check("#sign-up-agreement")
    await _submit(page)
    assert NEWCOMER_EMAIL in await page.locator("main").inner_text()
    await walk.run_jobs()
    [message] = walk.mailbox.to(NEWCOMER_EMAIL)
    assert message["Content-Language"] == "nl"
    await page.goto(link_in(message, "/auth/confirmation"))
    assert "bevestigd" in await page.locator("main").inner_text()
    await page.close()
    await log_in(newcomer, walk.instance.base_url, NEWCOMER, PASSWORD)


async def _post_with_image(walk: Walk, newcomer: BrowserContext) -> None:
    page = await newcomer.new_page()
    await page.goto(walk.url("/web/compose"))
    await page.fill("#compose-text", "Hoogwater bij de dijk, alles houdt #waterstand")
    await page.select_option("#compose-language", "nl")
    await page.set_input_files(
        "#image1", files=[{"name": "dijk.png", "mimeType": "image/png", "buffer": png_bytes(320, 200)}]
    )
    await page.fill("#alt1", ALT_TEXT)
    await walk.shoot(page, "walk-compose-nl")
    await _submit(page)
    assert page.url == walk.url("/web/home")
    # From the home timeline to the post's own page, by its link.
    posted = page.locator("article", has=page.locator(f'img[alt="{ALT_TEXT}"]'))
    async with page.expect_navigation():
        await posted.locator("a.u-url:has(time.dt-published)").click()
    assert page.url.startswith(walk.url(f"/@{NEWCOMER}/"))
    image = page.locator(f'article.main-post img[alt="{ALT_TEXT}"]')
    assert await image.count() == 1
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
    await walk.shoot(page, "walk-status-nl")
    await page.close()


async def _follow_tag(walk: Walk, newcomer: BrowserContext) -> None:
    async with walk.ctx.db.read() as session:
        admin = await local_account_by_username(session, ADMIN)
        me = await local_account_by_username(session, NEWCOMER)
    assert admin is not None and me is not None
    await actions.post_status(walk.ctx, admin, text=f"Vanavond loopt de #{TAG} langs de Lek")
    page = await newcomer.new_page()
    await page.goto(walk.url(f"/tags/{TAG}"))
    assert await page.locator("main form button").inner_text() == f"Volg #{TAG}"
    await _submit(page)
    assert page.url == walk.url(f"/tags/{TAG}")
    assert await page.locator("main form button").inner_text() == f"Ontvolg #{TAG}"
    async with walk.ctx.db.read() as session:
        rows = (await session.execute(followed_tags_query(me.id).statement)).all()
    assert [tag.name for _, tag in rows] == [TAG]
    # What the hashtag brings from now on reaches the newcomer's home timeline.
    later = await actions.post_status(walk.ctx, admin, text=f"De #{TAG} is klaar: geen lekken gevonden")
    await page.goto(walk.url("/web/home"))
    assert await page.locator(f'a[href$="/@{ADMIN}/{later.id}"]').count() == 1
    await walk.shoot(page, "walk-home-nl")
    await page.close()


async def _report_post(walk: Walk, newcomer: BrowserContext) -> int:
    spammer = await make_user(walk.ctx, "reclamebureau", PASSWORD)
    spam = await actions.post_status(walk.ctx, spammer, text="Koop nu goedkope horloges op horloges.example")
    page = await newcomer.new_page()
    await page.goto(walk.url(f"/@reclamebureau/{spam.id}"))
    async with page.expect_navigation():
        await page.click(f'a[href="/web/report?status_id={spam.id}"]')
    await page.check("#report-category-spam")
    await page.check(f"label:has-text('{RULE}')")
    await page.fill("#report-comment", "Elke dag dezelfde reclame")
    await _submit(page, "main form[action='/web/report']")
    assert page.url == walk.url("/web/report/sent")
    await page.close()
    async with walk.ctx.db.read() as session:
        [report] = (await session.execute(select(Report))).scalars().all()
    assert (report.target_account_id, report.status_ids, report.comment) == (
        spammer.id,
        [spam.id],
        "Elke dag dezelfde reclame",
    )
    assert report.category == "violation" and len(report.rule_ids) == 1  # citing a rule, as in the API
    return report.id


async def _resolve_report(walk: Walk, admin: BrowserContext, report_id: int) -> None:
    """The moderator opens the report from the list, takes it and resolves it by limiting the account."""
    page = await admin.new_page()
    await page.goto(walk.url("/web/admin/reports"))
    async with page.expect_navigation():
        await page.click(f'main a[href="/web/admin/reports/{report_id}"]')
    assert "Elke dag dezelfde reclame" in await page.locator("main").inner_text()
    await walk.shoot(page, "walk-moderation-report-nl")
    await _submit(page, f"main form[action='/web/admin/reports/{report_id}/assign']")
    await page.check("#report-action-silence")
    await page.fill("#report-note", "Reclame: beperkt")
    await _submit(page, f"main form[action='/web/admin/reports/{report_id}/resolve']")
    assert await page.locator("main p.notice").count() == 1
    await page.close()
    async with walk.ctx.db.read() as session:
        report = await session.get(Report, report_id)
        assert report is not None
        target = await session.get(Account, report.target_account_id)
        admin_account = await local_account_by_username(session, ADMIN)
    assert report.resolved_at is not None and report.resolution_note == "Reclame: beperkt"
    assert admin_account is not None and report.assigned_account_id == admin_account.id
    assert target is not None and target.silenced_at is not None


async def _block_domain(walk: Walk, admin: BrowserContext) -> None:
    """The admin previews a block of a spam domain (the dry run's counts), then confirms it."""
    async with walk.ctx.db.read() as session:
        me = await local_account_by_username(session, NEWCOMER)
    assert me is not None
    spammers = [
        await stored_remote_account(walk.ctx, name, SPAM_DOMAIN) for name in ("verkoop", "aanbieding")
    ]
    async with walk.ctx.db.transaction() as session:
        session.add(
            Follow(account_id=spammers[0].id, target_account_id=me.id, uri=f"https://{SPAM_DOMAIN}/f/1")
        )
    page = await admin.new_page()
    await page.goto(walk.url("/web/admin/domains"))
    await page.fill("#block-domain", SPAM_DOMAIN)
    await page.select_option("#block-severity", "suspend")
    await page.fill("#block-public-comment", "Stuurt alleen reclame")
    await page.fill("#block-private-comment", "Melding van drie leden")
    await page.check("#block-obfuscate")
    await _submit(page, "main form[action='/web/admin/domains/preview']:has(#block-domain)")
    assert await page.locator('td[data-count="accounts"]').inner_text() == "2"
    assert await page.locator('td[data-count="followers"]').inner_text() == "1"
    await walk.shoot(page, "domain-block-preview-nl")
    async with walk.ctx.db.read() as session:  # the preview changed nothing
        assert (
            await session.scalar(select(DomainBlock.domain).where(DomainBlock.domain == SPAM_DOMAIN)) is None
        )
    await _submit(page, "main form[action='/web/admin/domains/apply']")
    assert SPAM_DOMAIN in await page.locator("main p.notice").inner_text()
    await page.close()
    async with walk.ctx.db.read() as session:
        block = (
            await session.execute(select(DomainBlock).where(DomainBlock.domain == SPAM_DOMAIN))
        ).scalar_one()
        suspended = (
            (await session.execute(select(Account.suspended_at).where(Account.domain == SPAM_DOMAIN)))
            .scalars()
            .all()
        )
    assert (block.severity, block.public_comment, block.private_comment, block.obfuscate) == (
        "suspend",
        "Stuurt alleen reclame",
        "Melding van drie leden",
        True,
    )
    assert len(suspended) == 2 and None not in suspended


async def test_invited_newcomer_posts_follows_reports_and_a_moderator_acts_without_javascript(
    walk: Walk,
) -> None:
    admin = await walk.browser.new_context(java_script_enabled=False, locale="nl-NL")
    newcomer = await walk.browser.new_context(java_script_enabled=False, locale="nl-NL")
    try:
        await log_in(admin, walk.instance.base_url, ADMIN, PASSWORD)
        invite_link = await _make_invite(walk, admin)
        await _sign_up_and_confirm(walk, newcomer, invite_link)
        await _post_with_image(walk, newcomer)
        await _follow_tag(walk, newcomer)
        report_id = await _report_post(walk, newcomer)
        await _resolve_report(walk, admin, report_id)
        await _block_domain(walk, admin)
    finally:
        await admin.close()
        await newcomer.close()


# --- axe-core on every page template ---------------------------------------------------------------------


class Findings:
    """Serious and critical violations per page, across the checks of one test."""

    def __init__(self) -> None:
        self.problems: dict[str, list[dict[str, Any]]] = {}
        self.checked: list[str] = []

    async def check(self, page: Page, name: str) -> None:
        """Run axe on `page` as it is now."""
        self.checked.append(name)
        # No page carries a script of its own: each works the same with JavaScript disabled.
        if await page.locator("script").count():
            self.problems[f"{name}: script"] = [{"id": "script", "src": await page.content()}]
        found = await serious_violations(page)
        if found:
            self.problems[name] = found

    async def visit(self, context: BrowserContext, url: str, name: str) -> Page:
        """Open `url` in a new page of `context` and check it; the caller closes the page."""
        page = await context.new_page()
        response = await page.goto(url)
        assert response is not None and response.status < 500, url
        await self.check(page, name)
        return page


async def _seeded_pages(walk: Walk) -> dict[str, str]:
    """A path of every page template reached by a GET (signed-in ones marked "!", the admin's "!!")."""
    ctx = walk.ctx
    alice = await make_user(ctx, "alice", PASSWORD)
    bob = await make_user(ctx, "bob", PASSWORD)
    first = await actions.post_status(ctx, alice, text="Het stadhuis is open #gemeente")
    media = await upload_image(ctx, bob.id, png_bytes(), description="Een foto van de kade")
    reply = await actions.post_status(
        ctx, bob, text="@alice Mooi!", spoiler_text="Foto", in_reply_to_id=first.id, media_ids=[media.id]
    )
    report = await actions.file_report(
        ctx,
        alice,
        actions.ReportRequest(target_id=bob.id, status_ids=[reply.id], comment="Reclame", category="spam"),
    )
    # alice publishes for an organisation: her pages carry the account switcher, and its pages are hers.
    await make_user(ctx, "ministry")
    await organisation_command(ctx, argparse.Namespace(action="create", username="ministry", review="on"))
    await organisation_command(
        ctx, argparse.Namespace(action="add", organisation="ministry", member="alice", role="publisher")
    )
    # Warnings told to alice, one of them appealed (her disputes pages, the appeals pages), and bob's media
    # forced sensitive (the sensitive notice on a status page).
    telling = moderation.Telling(tell=True)
    await moderation.moderate_account(
        ctx, alice.id, "none", actor=f"@{ADMIN}", text="Let op", telling=telling
    )
    await moderation.moderate_account(
        ctx, alice.id, "none", actor=f"@{ADMIN}", text="Nogmaals", telling=telling
    )
    async with ctx.db.read() as session:
        open_warning, appealed_warning = (
            await session.execute(
                select(AccountWarning)
                .where(AccountWarning.target_account_id == alice.id)
                .order_by(AccountWarning.id)
            )
        ).scalars()
    await moderation.appeal_warning(ctx, appealed_warning.id, alice, "Ik heb niets misdaan.")
    pictured = await actions.post_status(
        ctx,
        bob,
        text="De kade vandaag",
        media_ids=[(await upload_image(ctx, bob.id, png_bytes(), description="De kade in de zon")).id],
    )
    await moderation.moderate_account(ctx, bob.id, "sensitive", actor=f"@{ADMIN}")
    # Rows for the admin pages' tables.
    await moderation.block_domain(
        ctx,
        "blocked.example",
        actor="cli:test",
        reject_media=True,
        public_comment="spam",
        private_comment="ticket 7",
        obfuscate=True,
    )
    await moderation.allow_domain(ctx, "friendly.example", actor="cli:test")
    async with ctx.db.transaction() as session:
        session.add(
            DeliveryHost(
                host="down.example", consecutive_failures=3, paused_until=utcnow() + timedelta(hours=1)
            )
        )
        session.add(
            Job(queue="deliver", payload={}, host="down.example", state="failed", last_error="HTTP 500")
        )
    return {
        "front page": "/",
        "local timeline": "/public/local",
        "profile": "/@alice",
        "status with thread": f"/@bob/{reply.id}",
        "hashtag": "/tags/gemeente",
        "account hashtag": "/@alice/tagged/gemeente",
        "about": "/about",
        "privacy policy": "/privacy-policy",
        "error": "/@nobody",
        "login": "/login",
        "sign up": "/auth/sign_up",
        "invite not valid": "/invite/no-such-invite",
        "password reset request": "/auth/password/new",
        "password reset link not valid": "/auth/password/edit?reset_password_token=made-up",
        "confirmation link not valid": "/auth/confirmation?confirmation_token=made-up",
        "oauth consent": await _consent_path(walk),
        "oauth error": "/oauth/authorize?client_id=unknown",
        "home timeline": "!/web/home",
        "notifications": "!/web/notifications",
        "compose": "!/web/compose",
        "reply": f"!/web/compose?in_reply_to_id={reply.id}",
        "sensitive media": f"/@bob/{pictured.id}",
        "disputes": "!/web/disputes",
        "dispute with the appeal form": f"!/web/disputes/{open_warning.id}",
        "dispute appealed": f"!/web/disputes/{appealed_warning.id}",
        "signed-in profile": "!/@bob",
        "signed-in hashtag": "!/tags/gemeente",
        "report form": f"!/web/report?status_id={reply.id}",
        "report sent": "!/web/report/sent",
        "settings": "!/web/settings",
        "security settings": "!/web/settings/security",
        "export": "!/web/settings/export",
        "review queue": "!/web/review",
        "organisation audit trail": "!/web/org/ministry/audit",
        "organisation members": "!/web/org/ministry/members",
        "invites": "!!/web/invites",
        "moderation": "!!/web/admin",
        "reports": "!!/web/admin/reports",
        "report": f"!!/web/admin/reports/{report.id}",
        "accounts": "!!/web/admin/accounts",
        "account": f"!!/web/admin/accounts/{bob.id}",
        "appeals": "!!/web/admin/appeals",
        "account with an appeal": f"!!/web/admin/accounts/{alice.id}",
        "admin domains": "!!/web/admin/domains",
        "admin settings": "!!/web/admin/settings",
        "admin jobs": "!!/web/admin/jobs",
        "admin audit log": "!!/web/admin/audit",
    }


async def _consent_path(walk: Walk) -> str:
    async with walk.instance.client() as client:
        app = await register_app(client)
    return f"/oauth/authorize?client_id={app.client_id}&redirect_uri={OOB}&response_type=code&scope=read"


async def _context(walk: Walk, locale: str, username: str | None = None) -> BrowserContext:
    """A browser context in `locale`, signed in as `username` if given. axe comes in as a script: these
    contexts let it past the pages' CSP (which is tested on its own, in tests/plein/test_security_headers)."""
    context = await walk.browser.new_context(locale=locale, bypass_csp=True)
    if username is not None:
        await log_in(context, walk.instance.base_url, username, PASSWORD)
    return context


async def _signed_up_and_confirmed(walk: Walk, findings: Findings, locale: str) -> None:
    """The answers of the sign-up form and of the confirmation link."""
    made = await registration.create_invite(walk.ctx, actor="cli", max_uses=1, expires_in=None)
    username, email = f"nieuw_{locale[:2]}", f"nieuw-{locale[:2]}@example.test"
    context = await _context(walk, locale)
    try:
        page = await context.new_page()
        await page.goto(made.url)
        await findings.check(page, f"sign up with an invite ({locale})")
        await page.fill("#sign-up-username", username)
        await page.fill("#sign-up-email", email)
        await page.fill("#sign-up-password", PASSWORD)
        await page.check("#sign-up-agreement")
        await _submit(page)
        await findings.check(page, f"signed up ({locale})")
        await walk.run_jobs()
        [message] = walk.mailbox.to(email)
        await page.goto(link_in(message, "/auth/confirmation"))
        await findings.check(page, f"e-mail confirmed ({locale})")
    finally:
        await context.close()


async def _password_reset(walk: Walk, findings: Findings, locale: str) -> None:
    """The answers of the reset request, the mailed link and the new password."""
    await make_user(walk.ctx, "carla", PASSWORD)
    context = await _context(walk, locale)
    try:
        page = await context.new_page()
        await page.goto(walk.url("/auth/password/new"))
        await page.fill("#reset-email", "carla@example.test")
        await _submit(page)
        await findings.check(page, f"password reset requested ({locale})")
        await walk.run_jobs()
        message = walk.mailbox.to("carla@example.test")[-1]
        await page.goto(link_in(message, "/auth/password/edit"))
        await findings.check(page, f"new password form ({locale})")
        await page.fill("#reset-password", PASSWORD)
        await page.fill("#reset-password-confirmation", PASSWORD)
        await _submit(page)
        await findings.check(page, f"password reset done ({locale})")
    finally:
        await context.close()


async def _authorised_app_code(
    walk: Walk, findings: Findings, signed_in: BrowserContext, locale: str
) -> None:
    page = await signed_in.new_page()
    try:
        await page.goto(walk.url(await _consent_path(walk)))
        async with page.expect_navigation():
            await page.click("main button[value=approve]")
        await findings.check(page, f"oauth code ({locale})")
    finally:
        await page.close()


async def _account_deleted(walk: Walk, findings: Findings, locale: str) -> None:
    username = f"vertrek_{locale[:2]}"
    await make_user(walk.ctx, username, PASSWORD)
    context = await _context(walk, locale, username)
    try:
        page = await context.new_page()
        await page.goto(walk.url("/web/settings/security"))
        await page.fill("#delete-password", PASSWORD)
        await page.check("#delete-confirm")
        await _submit(page, "main form[action='/web/settings/security/delete']")
        await findings.check(page, f"account deletion requested ({locale})")
    finally:
        await context.close()


async def _second_factor(walk: Walk, findings: Findings, locale: str) -> None:
    """The second step of the login needs an account with TOTP, half signed in."""
    account = await make_user(walk.ctx, "tweestaps", PASSWORD)
    async with walk.ctx.db.transaction() as session:
        user = await user_for_account(session, account.id)
        assert user is not None
        if user.totp_secret is None:
            user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), utcnow()
    context = await _context(walk, locale)
    try:
        page = await context.new_page()
        await page.goto(walk.url("/login"))
        await page.fill("#login-username", "tweestaps")
        await page.fill("#login-password", PASSWORD)
        await _submit(page)
        assert "/login/second-factor" in page.url
        await findings.check(page, f"second factor ({locale})")
    finally:
        await context.close()


async def _new_invite_link(walk: Walk, findings: Findings, admin: BrowserContext, locale: str) -> None:
    page = await admin.new_page()
    try:
        await page.goto(walk.url("/web/invites"))
        await _submit(page, "main form[action='/web/invites']")
        await findings.check(page, f"invites with a new link ({locale})")
    finally:
        await page.close()


async def _domain_block_preview(walk: Walk, findings: Findings, admin: BrowserContext, locale: str) -> None:
    page = await admin.new_page()
    try:
        await page.goto(walk.url("/web/admin/domains"))
        await page.fill("#block-domain", "voorbeeld.example")
        await _submit(page, "main form[action='/web/admin/domains/preview']:has(#block-domain)")
        await findings.check(page, f"domain block preview ({locale})")
        await walk.shoot(page, f"domain-block-preview-{locale[:2]}")
    finally:
        await page.close()


@ON_SQLITE
async def test_every_page_template_passes_axe_in_dutch_and_english(walk: Walk) -> None:
    pages = await _seeded_pages(walk)
    findings = Findings()
    for locale in LOCALES:
        anonymous = await _context(walk, locale)
        signed_in = await _context(walk, locale, "alice")
        admin = await _context(walk, locale, ADMIN)
        try:
            for name, path in pages.items():
                context = admin if path.startswith("!!") else signed_in if path.startswith("!") else anonymous
                page = await findings.visit(context, walk.url(path.lstrip("!")), f"{name} ({locale})")
                if name in SHOTS:
                    await walk.shoot(page, f"{SHOTS[name]}-{locale[:2]}")
                await page.close()
            lang_page = await anonymous.new_page()
            await lang_page.goto(walk.url("/about"))
            assert await lang_page.locator("html").get_attribute("lang") == locale[:2]
            await lang_page.close()
            await _authorised_app_code(walk, findings, signed_in, locale)
            await _new_invite_link(walk, findings, admin, locale)
            await _domain_block_preview(walk, findings, admin, locale)
        finally:
            for context in (anonymous, signed_in, admin):
                await context.close()
        await _signed_up_and_confirmed(walk, findings, locale)
        await _password_reset(walk, findings, locale)
        await _account_deleted(walk, findings, locale)
        await _second_factor(walk, findings, locale)
    assert len(findings.checked) == 2 * (len(pages) + 11)
    assert findings.problems == {}


@ON_SQLITE
async def test_the_checker_finds_what_it_must(walk: Walk) -> None:
    """An image without alt text and a page without a language are found."""
    context = await walk.browser.new_context(bypass_csp=True)
    try:
        bad = await context.new_page()
        await bad.set_content("<!doctype html><title>x</title><img src='/favicon.ico'>")
        assert {v["id"] for v in await all_violations(bad)} >= {"image-alt", "html-has-lang"}
    finally:
        await context.close()
