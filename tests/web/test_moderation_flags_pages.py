"""The web moderation pages' part of issue 14's moderation gaps: the report and account lists page by 50
with plain links (the 51st report is on page 2), the report page shows who resolved it and to whom it is
assigned, and the account page disables and enables a login, marks its media sensitive and tells the account
(its warning shown on its web notifications page). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Account, AccountWarning, Report, User
from support.accounts import stored_remote_account
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import form_fields
from support.staff import make_staff
from support.web import PASSWORD, post_form, web_login

_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


@pytest.fixture
async def instance_on_each_backend(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    async with serve_in_process(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


def _next_link(page_html: str) -> str | None:
    found = _NEXT.search(page_html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_the_lists_page_by_50_and_the_report_shows_who_resolved_it(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    await make_staff(instance, "mo", "moderator")
    reporter = await make_staff(instance, "rep")
    targets = [await stored_remote_account(instance.ctx, f"spam{n}", "far.example") for n in range(51)]
    async with instance.ctx.db.transaction() as session:
        reports = [Report(account_id=reporter.id, target_account_id=target.id) for target in targets]
        session.add_all(reports)
        await session.flush()
        report_ids = [report.id for report in reports]
    oldest, newest = min(report_ids), max(report_ids)
    async with instance.client() as browser:
        await web_login(browser, "mo", PASSWORD)
        first = await browser.get("/web/admin/reports")
        assert f'href="/web/admin/reports/{newest}"' in first.text
        assert f'href="/web/admin/reports/{oldest}"' not in first.text
        second_url = _next_link(first.text)
        assert second_url == f"/web/admin/reports?max_id={sorted(report_ids)[1]}"
        second = await browser.get(second_url)
        assert second.status_code == 200
        assert f'href="/web/admin/reports/{oldest}"' in second.text and _next_link(second.text) is None
        assert (await browser.get("/web/admin/reports?max_id=nope")).status_code == 400

        accounts = await browser.get("/web/admin/accounts?origin=remote")
        assert accounts.text.count('href="/web/admin/accounts/') == 50
        more = _next_link(accounts.text)
        assert more is not None and "origin=remote" in more
        rest = await browser.get(more)
        assert rest.text.count('href="/web/admin/accounts/') == 1
        assert f'href="/web/admin/accounts/{targets[0].id}"' in rest.text
        assert (await browser.get("/web/admin/accounts?max_id=-1")).status_code == 400

        page = f"/web/admin/reports/{newest}"
        await post_form(browser, page, f"{page}/assign", {"assignee": "me"})
        resolved = await post_form(browser, page, f"{page}/resolve", {"action": "resolve", "note": "dubbel"})
        assert resolved.status_code == 303
        shown = await browser.get(page)
    mo_id = (await make_staff(instance, "mo", "moderator")).id
    by = re.search(r"<dt>Afgehandeld door</dt>\s*<dd>(.*?)</dd>", shown.text, re.S)
    assert by is not None and f'href="/web/admin/accounts/{mo_id}">@mo<' in by.group(1)
    assigned = re.search(r"<dt>Toegewezen aan</dt>\s*<dd>(.*?)</dd>", shown.text, re.S)
    assert assigned is not None and "@mo" in assigned.group(1)
    async with instance.ctx.db.read() as session:
        report = await session.get(Report, newest)
        assert report is not None and report.action_taken_by_account_id == mo_id


async def test_the_account_page_disables_enables_and_tells_the_account(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    await make_staff(instance, "mo", "moderator")
    clerk = await make_staff(instance, "clerk")
    page = f"/web/admin/accounts/{clerk.id}"
    async with instance.client() as staff, instance.client() as clerk_browser:
        await web_login(staff, "mo", PASSWORD)
        await web_login(clerk_browser, "clerk", PASSWORD)
        shown = await staff.get(page)
        for action in ("disable", "sensitive", "warn"):
            assert f'value="{action}"' in shown.text
        disabled = await post_form(
            staff, page, f"{page}/action", {"action": "disable", "note": "Te veel reclame.", "tell": "1"}
        )
        assert (disabled.status_code, disabled.headers["location"]) == (303, f"{page}?done=disable")
        after = await staff.get(disabled.headers["location"])
        assert 'value="enable"' in after.text and 'value="disable"' not in after.text
        assert (await clerk_browser.get("/web/home")).status_code in (302, 303)  # its session ended
        # A new login opens only the restricted session (its disputes), where the rest is refused.
        login_page = await clerk_browser.get("/login")
        restricted = await clerk_browser.post(
            "/login", data={**form_fields(login_page.text), "username": "clerk", "password": PASSWORD}
        )
        assert (restricted.status_code, restricted.headers["location"]) == (303, "/web/disputes")
        refused = await clerk_browser.get("/web/home")
        assert refused.status_code == 403 and "Uw login is uitgeschakeld" in refused.text

        again = await post_form(staff, page, f"{page}/action", {"action": "disable"})
        assert again.status_code == 422  # already disabled: refused, nothing changed
        sensitive = await post_form(staff, page, f"{page}/action", {"action": "sensitive"})
        assert sensitive.status_code == 303
        enabled = await post_form(staff, page, f"{page}/action", {"action": "enable"})
        assert enabled.status_code == 303

        notifications = await clerk_browser.get("/web/notifications")  # the same session, now a normal one
        assert notifications.status_code == 200
        assert "Te veel reclame." in notifications.text
    async with instance.ctx.db.read() as session:
        user = (await session.execute(select(User).where(User.account_id == clerk.id))).scalar_one()
        account = await session.get(Account, clerk.id)
        warnings = list((await session.execute(select(AccountWarning.action, AccountWarning.text))).all())
    assert user.disabled_at is None and account is not None and account.sensitized_at is not None
    # Only the action with "tell" was told; the others stay in the audit log.
    assert [(action, text) for action, text in warnings] == [("disable", "Te veel reclame.")]
