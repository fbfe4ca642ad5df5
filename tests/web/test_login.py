"""The web login (web/staff/login.py over login/): one session for the web pages and the OAuth consent page,
a row per browser, cookies that scripts and other sites cannot use, CSRF on every form, throttling as the API
login has, the optional TOTP second factor with one-time recovery codes, and logout."""

from __future__ import annotations

from pathlib import Path

import pyotp
from sqlalchemy import func, select

from login.totp import new_recovery_codes
from storage.accounts import local_account_by_username, user_for_account
from storage.models import LoginSession, User
from storage.types import utcnow
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import OOB, form_fields, register_app
from support.web import PASSWORD, csrf_of, web_login


async def _session_count(instance: RunningInstance) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(LoginSession))).scalar_one())


async def test_login_sets_a_guarded_cookie_backed_by_a_row_and_logout_ends_it(
    instance: RunningInstance,
) -> None:
    async with instance.client() as browser:
        form = await browser.get("/login?next=/about")
        assert form.status_code == 200 and '<html lang="nl">' in form.text  # the instance default
        assert 'href="#main"' in form.text and 'id="main"' in form.text  # the skip link and its target
        # Closed registrations and no mail server: no way to sign up or reset offered.
        assert "/auth/sign_up" not in form.text and "/auth/password/new" not in form.text
        # Without the form's token nothing happens.
        refused = await browser.post("/login", data={"username": "alice", "password": PASSWORD})
        assert refused.status_code == 403 and "plein_login" not in refused.headers.get("set-cookie", "")
        fields = form_fields(form.text)
        signed = await browser.post("/login", data={**fields, "username": "alice", "password": PASSWORD})
        assert signed.status_code == 303 and signed.headers["location"] == "/about"
        cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("plein_login="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert await _session_count(instance) == 1
        page = await browser.get("/about")
        assert "@alice afmelden" in page.text and page.headers["cache-control"] == "private, no-store"
        # The OAuth consent page knows the same login.
        app = await register_app(browser)
        consent = await browser.get(
            "/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB}
        )
        assert "<strong>@alice</strong>" in consent.text and 'name="password"' not in consent.text
        # Logging out needs the token too.
        assert (await browser.post("/logout", data={})).status_code == 403
        assert await _session_count(instance) == 1
        out = await browser.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303 and await _session_count(instance) == 0
        assert "Inloggen" in (await browser.get("/about")).text


async def test_a_stolen_row_is_no_cookie_and_a_revoked_row_signs_out(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        token = browser.cookies["plein_login"]
        async with instance.ctx.db.transaction() as session:
            row = (await session.execute(select(LoginSession))).scalar_one()
            assert token not in row.token_hash  # only the hash is kept
            await session.delete(row)
        assert "Inloggen" in (await browser.get("/about")).text


async def test_wrong_passwords_are_refused_then_throttled_and_next_stays_on_site(
    instance: RunningInstance,
) -> None:
    async with instance.client(headers={"Accept-Language": "en-US,en;q=0.9,nl;q=0.5"}) as browser:
        form = await browser.get("/login?next=//evil.example/")
        assert '<html lang="en">' in form.text
        fields = form_fields(form.text)
        assert fields["next"] == "/web/home"
        statuses = []
        for _ in range(6):
            wrong = await browser.post("/login", data={**fields, "username": "alice", "password": "nope"})
            statuses.append(wrong.status_code)
        assert statuses == [422] * 5 + [429]
        assert "Too many failed login attempts" in wrong.text
        still_throttled = await browser.post(
            "/login", data={**fields, "username": "alice", "password": PASSWORD}
        )
        assert still_throttled.status_code == 429 and await _session_count(instance) == 0


async def test_the_account_language_wins_over_the_browser(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.ctx.db.transaction() as session:
        account = await local_account_by_username(session, "alice")
        assert account is not None
        user = await user_for_account(session, account.id)
        assert user is not None
        user.locale = "en"
    async with instance.client(headers={"Accept-Language": "nl"}) as browser:
        assert '<html lang="nl">' in (await browser.get("/about")).text
        await web_login(browser, "alice", PASSWORD)
        page = await browser.get("/about")
        assert '<html lang="en">' in page.text and "Log out @alice" in page.text
        assert page.headers["content-language"] == "en"


async def test_second_factor_with_totp_and_one_time_recovery_codes(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    secret = pyotp.random_base32()
    codes, hashes = new_recovery_codes()
    async with instance.ctx.db.transaction() as session:
        user = (await session.execute(select(User))).scalar_one()
        user.totp_secret, user.totp_enabled_at, user.recovery_code_hashes = secret, utcnow(), hashes
    async with instance.client() as browser:
        form = await browser.get("/login")
        fields = form_fields(form.text)
        first = await browser.post("/login", data={**fields, "username": "alice", "password": PASSWORD})
        assert first.status_code == 303 and first.headers["location"].startswith("/login/second-factor")
        # Half way, the browser is not signed in.
        assert "Inloggen" in (await browser.get("/about")).text
        step = await browser.get(first.headers["location"])
        step_fields = form_fields(step.text)
        wrong = await browser.post("/login/second-factor", data={**step_fields, "code": "000000"})
        assert wrong.status_code == 422
        done = await browser.post(
            "/login/second-factor", data={**step_fields, "code": pyotp.TOTP(secret).now()}
        )
        assert done.status_code == 303 and done.headers["location"] == "/web/home"
        assert "@alice afmelden" in (await browser.get("/about")).text
    # A recovery code works once.
    for expected in (303, 422):
        async with instance.client() as browser:
            fields = form_fields((await browser.get("/login")).text)
            await browser.post("/login", data={**fields, "username": "alice", "password": PASSWORD})
            step_fields = form_fields((await browser.get("/login/second-factor")).text)
            used = await browser.post("/login/second-factor", data={**step_fields, "code": codes[0]})
            assert used.status_code == expected
    # The consent page sends such an account through the web login, and back.
    async with instance.client() as browser:
        app = await register_app(browser)
        consent = await browser.get(
            "/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": OOB}
        )
        fields = form_fields(consent.text)
        sent = await browser.post(
            "/oauth/authorize",
            data={**fields, "username": "alice", "password": PASSWORD, "decision": "approve"},
        )
        assert sent.status_code == 303 and sent.headers["location"].startswith(
            "/login?next=%2Foauth%2Fauthorize"
        )
        assert 'id="oauth-code"' not in sent.text
    # The password alone gets no token from the API either.
    async with instance.client() as client:
        app = await register_app(client)
        granted = await client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "username": "alice",
                "password": PASSWORD,
                "scope": "read",
            },
        )
        assert granted.status_code in (400, 401) and granted.json()["error"] in (
            "invalid_grant",
            "unsupported_grant_type",
        )


async def test_the_consent_page_problems_are_in_the_page_language(instance: RunningInstance) -> None:
    async with instance.client() as browser:
        dutch = await browser.get("/oauth/authorize", params={"client_id": "unknown"})
        assert dutch.status_code == 400 and "onbekende client_id" in dutch.text
    async with instance.client(headers={"Accept-Language": "en"}) as browser:
        english = await browser.get("/oauth/authorize", params={"client_id": "unknown"})
        assert "unknown client_id" in english.text and '<html lang="en">' in english.text


async def test_the_login_page_offers_sign_up_and_reset_when_they_work(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        **{
            "registration.mode": "open",
            "mail.host": "127.0.0.1",
            "mail.from_address": "noreply@example.test",
        },
    )
    async with serve_in_process(settings) as instance, instance.client() as browser:
        page = (await browser.get("/login")).text
    assert (
        'href="/auth/sign_up">Aanmelden<' in page
        and 'href="/auth/password/new">Wachtwoord vergeten?<' in page
    )
