"""The settings pages over HTTP (web/staff/settings.py, web/staff/security.py): every form refuses a post
without its CSRF token and a browser that is not signed in; the profile, language, password, sessions,
apps, second factor and the export do what they say."""

from __future__ import annotations

import io
import re
import zipfile

import pyotp
from sqlalchemy import func, select

from storage.models import Account, LoginSession, User
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.web import PASSWORD, csrf_of, png_bytes, web_login

FORMS = {
    "/web/settings/profile": {"display_name": "Hacked"},
    "/web/settings/language": {"locale": "en"},
    "/web/settings/security/password": {"current_password": PASSWORD, "new_password": "x" * 10},
    "/web/settings/security/sessions/revoke": {"session_id": "1"},
    "/web/settings/security/apps/revoke": {"app_id": "1"},
    "/web/settings/security/totp/begin": {},
    "/web/settings/security/totp/confirm": {"code": "123456"},
    "/web/settings/security/totp/disable": {"current_password": PASSWORD},
    "/web/settings/security/delete": {"current_password": PASSWORD, "confirm": "yes"},
    "/web/compose": {"text": "forged"},
    "/logout": {},
}


async def _user(instance: RunningInstance) -> User:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return (await session.execute(select(User))).scalar_one()


async def test_every_form_refuses_a_missing_token_and_a_stranger(instance: RunningInstance) -> None:
    async with instance.client() as stranger:
        for action, data in FORMS.items():
            answer = await stranger.post(action, data=data)
            if action != "/logout":
                assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), action
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        for action, data in FORMS.items():
            assert (await browser.post(action, data=data)).status_code == 403, action
        page = await browser.get("/web/settings")
        assert "Hacked" not in page.text and '<html lang="nl">' in page.text
    user = await _user(instance)
    assert user.password_changed_at is None and user.totp_secret is None and user.locale == ""
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        assert (
            await session.execute(select(Account.deletion_due_at).where(Account.username == "alice"))
        ).scalar_one() is None


async def test_profile_language_and_export(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        token = csrf_of((await browser.get("/web/settings")).text)
        saved = await browser.post(
            "/web/settings/profile",
            data={
                "csrf_token": token,
                "display_name": "Gemeente Voorbeeld",
                "note": "Het officiële account van de gemeente.",
                "field_name": ["Website", ""],
                "field_value": ["https://www.example.nl", ""],
            },
            files={"avatar": ("logo.png", png_bytes(120, 120), "image/png")},
        )
        assert saved.status_code == 303
        async with instance.ctx.db.read() as session:
            account = (await session.execute(select(Account).where(Account.username == "alice"))).scalar_one()
        assert account.display_name == "Gemeente Voorbeeld" and account.avatar_file
        assert [field["name"] for field in account.fields] == ["Website"]
        profile = await browser.get("/@alice")
        assert "Gemeente Voorbeeld" in profile.text and "officiële account" in profile.text
        language = await browser.post("/web/settings/language", data={"csrf_token": token, "locale": "en"})
        assert language.status_code == 303
        assert '<html lang="en">' in (await browser.get("/web/settings")).text
        follows = await browser.get("/web/settings/export/following_accounts.csv")
        assert follows.status_code == 200 and follows.headers["content-type"].startswith("text/csv")
        archive = await browser.get("/web/settings/export/archive.zip")
        assert archive.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        assert "outbox.json" in names and "following_accounts.csv" in names
        assert (await browser.get("/web/settings/export/../../etc/passwd")).status_code == 404


async def test_password_change_ends_other_sessions_and_tokens(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    api_token = await make_token(instance.ctx, "alice")
    async with instance.client() as other, instance.client() as browser:
        await web_login(other, "alice", PASSWORD)
        await web_login(browser, "alice", PASSWORD)
        token = csrf_of((await browser.get("/web/settings/security")).text)
        for wrong, expected in (
            (
                {
                    "current_password": "nope",
                    "new_password": "new secret 1",
                    "confirm_password": "new secret 1",
                },
                422,
            ),
            (
                {"current_password": PASSWORD, "new_password": "new secret 1", "confirm_password": "other"},
                422,
            ),
            ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}, 422),
        ):
            answer = await browser.post(
                "/web/settings/security/password", data={"csrf_token": token, **wrong}
            )
            assert answer.status_code == expected and 'role="alert"' in answer.text
        changed = await browser.post(
            "/web/settings/security/password",
            data={
                "csrf_token": token,
                "current_password": PASSWORD,
                "new_password": "new secret 1",
                "confirm_password": "new secret 1",
            },
        )
        assert changed.status_code == 303
        assert "afmelden" in (await browser.get("/web/settings/security")).text  # this browser goes on
        assert "Inloggen" in (await other.get("/about")).text  # the other one is out
        assert (
            await browser.get("/api/v1/accounts/verify_credentials", headers=bearer(api_token))
        ).status_code == 401


async def test_sessions_and_apps_are_listed_and_revoked(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    api_token = await make_token(instance.ctx, "alice")
    async with (
        instance.client(headers={"User-Agent": "Werkplek Firefox"}) as other,
        instance.client() as browser,
    ):
        await web_login(other, "alice", PASSWORD)
        await web_login(browser, "alice", PASSWORD)
        page = await browser.get("/web/settings/security")
        assert "Werkplek Firefox" in page.text
        async with instance.ctx.db.read() as session:
            rows = list((await session.execute(select(LoginSession).order_by(LoginSession.id))).scalars())
        other_id = next(row.id for row in rows if row.user_agent == "Werkplek Firefox")
        token = csrf_of(page.text)
        revoked = await browser.post(
            "/web/settings/security/sessions/revoke", data={"csrf_token": token, "session_id": str(other_id)}
        )
        assert revoked.status_code == 303 and "Inloggen" in (await other.get("/about")).text
        app_id = re.search(r'name="app_id" value="(\d+)"', page.text)
        assert app_id is not None
        await browser.post(
            "/web/settings/security/apps/revoke", data={"csrf_token": token, "app_id": app_id.group(1)}
        )
        assert (
            await browser.get("/api/v1/accounts/verify_credentials", headers=bearer(api_token))
        ).status_code == 401
        assert 'name="app_id"' not in (await browser.get("/web/settings/security")).text


async def test_second_factor_is_set_up_with_a_code_and_turned_off_with_the_password(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        token = csrf_of((await browser.get("/web/settings/security")).text)
        begun = await browser.post("/web/settings/security/totp/begin", data={"csrf_token": token})
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', begun.text)
        assert secret is not None and "otpauth://totp/" in begun.text
        wrong = await browser.post(
            "/web/settings/security/totp/confirm", data={"csrf_token": token, "code": "000000"}
        )
        assert wrong.status_code == 422 and (await _user(instance)).totp_enabled_at is None
        done = await browser.post(
            "/web/settings/security/totp/confirm",
            data={"csrf_token": token, "code": pyotp.TOTP(secret.group(1)).now()},
        )
        codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.text)
        assert len(codes) == 10 and (await _user(instance)).totp_enabled_at is not None
        refused = await browser.post(
            "/web/settings/security/totp/disable", data={"csrf_token": token, "current_password": "nope"}
        )
        assert refused.status_code == 422 and (await _user(instance)).totp_enabled_at is not None
        off = await browser.post(
            "/web/settings/security/totp/disable", data={"csrf_token": token, "current_password": PASSWORD}
        )
        assert off.status_code == 303 and (await _user(instance)).totp_enabled_at is None
    async with instance.ctx.db.read() as session:
        assert (await session.execute(select(func.count()).select_from(LoginSession))).scalar_one() >= 1


async def test_an_account_is_closed_from_its_settings_and_deleted_after_the_grace_period(
    instance: RunningInstance,
) -> None:
    assert instance.ctx is not None
    api_token = await make_token(instance.ctx, "alice")
    async with instance.client() as other, instance.client() as browser:
        await web_login(other, "alice", PASSWORD)
        await web_login(browser, "alice", PASSWORD)
        page = (await browser.get("/web/settings/security")).text
        assert "30" in page  # the grace period is said before anything happens
        token = csrf_of(page)
        for wrong in ({"current_password": "nope", "confirm": "yes"}, {"current_password": PASSWORD}):
            answer = await browser.post("/web/settings/security/delete", data={"csrf_token": token, **wrong})
            assert answer.status_code == 422 and 'id="deletion-error"' in answer.text
        async with instance.ctx.db.read() as session:
            assert (
                await session.execute(select(Account.deletion_due_at).where(Account.username == "alice"))
            ).scalar_one() is None
        closed = await browser.post(
            "/web/settings/security/delete",
            data={"csrf_token": token, "current_password": PASSWORD, "confirm": "yes"},
        )
        assert closed.status_code == 200 and "afmelden" not in closed.text
        assert (
            "Inloggen" in (await browser.get("/about")).text
            and "Inloggen" in (await other.get("/about")).text
        )
        assert (
            await browser.get("/api/v1/accounts/verify_credentials", headers=bearer(api_token))
        ).status_code == 401
        assert (await browser.get("/@alice")).status_code == 404  # the profile is gone at once
    async with instance.ctx.db.read() as session:
        account = (await session.execute(select(Account).where(Account.username == "alice"))).scalar_one()
        sessions = await session.scalar(select(func.count()).select_from(LoginSession))
    assert account.deletion_due_at is not None and account.suspended_at is not None and sessions == 0
