"""Reporting from the web (`/web/report`): a signed-in viewer reports a post they may see (or an account from
its profile) with a category, the rules broken and a comment; the report is the API's (`file_report`), so
a post the viewer may not see cannot be reported, and a bad form changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from outbox import actions
from storage.instance_rules import add_rule
from storage.models import Report
from support.instance import RunningInstance
from support.oauth import make_user
from support.web import PASSWORD, csrf_of, post_form, web_login


async def _reports(instance: RunningInstance) -> list[Report]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def test_viewer_reports_a_post_citing_a_rule(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    ctx = instance.ctx
    alice = await make_user(ctx, "alice", PASSWORD)
    bob = await make_user(ctx, "bob", PASSWORD)
    async with ctx.db.transaction() as session:
        rule = await add_rule(session, "Geen reclame")
    post = await actions.post_status(ctx, bob, text="Koop nu goedkope horloges")
    hidden = await actions.post_status(ctx, bob, text="Alleen voor volgers", visibility="private")
    form_path = f"/web/report?status_id={post.id}"
    async with instance.client() as anonymous:
        assert (await anonymous.get(form_path)).headers["location"].startswith("/login?")
        refused = await anonymous.post("/web/report", data={"csrf_token": "x", "account_id": str(bob.id)})
        assert refused.status_code == 303
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        status_page = await browser.get(f"/@bob/{post.id}")
        assert f'href="/web/report?status_id={post.id}"' in status_page.text
        own = await browser.get(f"/@alice/{(await actions.post_status(ctx, alice, text='Van mij')).id}")
        assert "/web/report?" not in own.text  # nobody reports their own post
        page = await browser.get(form_path)
        assert page.status_code == 200 and "Rapporteer @bob" in page.text and "Geen reclame" in page.text
        fields = {"account_id": str(bob.id), "status_id": str(post.id), "comment": "Reclame"}

        forged = await browser.post("/web/report", data={**fields, "csrf_token": "forged"})
        assert forged.status_code == 403
        bad_category = await post_form(browser, form_path, "/web/report", {**fields, "category": "boos"})
        assert bad_category.status_code == 422 and 'role="alert"' in bad_category.text
        no_rule = await post_form(browser, form_path, "/web/report", {**fields, "category": "violation"})
        assert no_rule.status_code == 422 and "regels" in no_rule.text
        unseen = await post_form(
            browser, form_path, "/web/report", {**fields, "status_id": str(hidden.id), "category": "spam"}
        )
        assert unseen.status_code == 404
        assert (await browser.get(f"/web/report?status_id={hidden.id}")).status_code == 404
        assert await _reports(instance) == []

        sent = await post_form(
            browser, form_path, "/web/report", {**fields, "category": "spam", "rule_id": str(rule.id)}
        )
        assert sent.status_code == 303 and sent.headers["location"] == "/web/report/sent"
        thanks = await browser.get(sent.headers["location"])
        assert thanks.status_code == 200 and "moderatoren" in thanks.text
        [report] = await _reports(instance)
        # Citing a rule makes it a violation report, as through the API.
        assert (report.account_id, report.target_account_id) == (alice.id, bob.id)
        assert (report.status_ids, report.rule_ids, report.category) == ([post.id], [rule.id], "violation")
        assert report.comment == "Reclame"

        profile = await browser.get("/@bob", headers={"Accept-Language": "en"})
        assert f'href="/web/report?account_id={bob.id}"' in profile.text
        account_form = await browser.get(
            f"/web/report?account_id={bob.id}", headers={"Accept-Language": "en"}
        )
        assert "Report @bob" in account_form.text and 'name="status_id"' not in account_form.text
        account_only = await browser.post(
            "/web/report",
            data={"csrf_token": csrf_of(account_form.text), "account_id": str(bob.id), "category": "other"},
        )
        assert account_only.status_code == 303
        assert [(r.status_ids, r.category) for r in await _reports(instance)][1] == ([], "other")
        assert (await browser.get(f"/web/report?account_id={alice.id}")).status_code == 404
