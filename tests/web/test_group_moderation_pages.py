"""The moderation block of a working group's page (`/@group`), through real HTTP as a browser without
JavaScript uses it: only the group's moderators see it (in Dutch and English); a moderator takes a shared
post out, bans its author and lifts the ban, each a form with the CSRF token; a signed-in non-moderator's
post of the same form is refused (403) and a form without the token too, changing nothing. A private group's
moderator lets one requester in and turns another away from the same block."""

from __future__ import annotations

from sqlalchemy import func, select

from outbox.actions import follow, post_status
from plein.jobs import job_handlers
from storage.groups import add_moderator, create_group
from storage.models import AuditEntry, Block, Follow, FollowRequest, Status
from storage.urls import LocalUrls
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import make_user
from support.web import PASSWORD, csrf_of, post_form, web_login


async def _count(instance: RunningInstance, model: type, *conditions: object) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def test_a_moderator_moderates_the_group_from_its_page(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(ctx.base_url), "raad")
    mod = await make_user(ctx, "voorzitter", PASSWORD)
    await make_user(ctx, "piet", PASSWORD)
    alice = await make_user(ctx, "alice", PASSWORD)
    async with ctx.db.transaction() as session:
        await add_moderator(session, group, mod)
        session.add(Follow(account_id=alice.id, target_account_id=group.id, uri="urn:follow:alice"))
    post = await post_status(ctx, alice, text="@raad Agenda voor dinsdag")
    await drain(ctx.db, job_handlers(ctx))
    live_boosts = (Status.account_id == group.id, Status.deleted_at.is_(None))
    assert await _count(instance, Status, *live_boosts) == 1

    async with instance.client() as anonymous:
        page = await anonymous.get("/@raad")
        assert page.status_code == 200 and "group-moderation" not in page.text

    async with instance.client() as browser:
        await web_login(browser, "piet", PASSWORD)
        page = await browser.get("/@raad")
        assert "group-moderation" not in page.text
        refused = await post_form(
            browser, "/web/compose", "/web/groups/raad/remove", {"status_id": str(post.id)}
        )
        assert refused.status_code == 403
        refused = await post_form(
            browser, "/web/compose", "/web/groups/raad/ban", {"account_id": str(alice.id)}
        )
        assert refused.status_code == 403
    assert await _count(instance, Status, *live_boosts) == 1 and await _count(instance, Block) == 0

    async with instance.client() as browser:
        await web_login(browser, "voorzitter", PASSWORD)
        dutch = await browser.get("/@raad", headers={"Accept-Language": "nl"})
        assert "Moderatie van deze groep" in dutch.text and "Uit de groep verwijderen" in dutch.text
        page = await browser.get("/@raad", headers={"Accept-Language": "en"})
        assert "Moderation of this group" in page.text and "Agenda voor dinsdag" in page.text
        assert "Ban @alice from the group" in page.text and "Ban @voorzitter" not in page.text

        no_token = await browser.post("/web/groups/raad/remove", data={"status_id": str(post.id)})
        assert no_token.status_code == 403
        assert await _count(instance, Status, *live_boosts) == 1

        token = csrf_of(page.text)
        assert 'formaction="/web/groups/raad/ban"' in page.text and 'name="reason"' in page.text
        removed = await browser.post(
            "/web/groups/raad/remove",
            data={
                "csrf_token": token,
                "status_id": str(post.id),
                "account_id": str(alice.id),
                "reason": "dubbel",
            },
        )
        assert removed.status_code == 303 and removed.headers["location"] == "/@raad#group-moderation"
        assert await _count(instance, Status, *live_boosts) == 0
        assert await _count(instance, Status, Status.id == post.id, Status.deleted_at.is_not(None)) == 1
        page = await browser.get("/@raad", headers={"Accept-Language": "en"})
        assert "Agenda voor dinsdag" not in page.text and "The group has shared no posts yet." in page.text

        banned = await browser.post(
            "/web/groups/raad/ban", data={"csrf_token": token, "account_id": str(alice.id)}
        )
        assert banned.status_code == 303
        assert (
            await _count(instance, Block, Block.account_id == group.id, Block.target_account_id == alice.id)
            == 1
        )
        page = await browser.get("/@raad", headers={"Accept-Language": "en"})
        assert "Lift the ban on @alice" in page.text

        lifted = await browser.post(
            "/web/groups/raad/unban", data={"csrf_token": token, "account_id": str(alice.id)}
        )
        assert lifted.status_code == 303 and await _count(instance, Block) == 0
        page = await browser.get("/@raad", headers={"Accept-Language": "en"})
        assert "Nobody is banned." in page.text

        not_shared = await browser.post(
            "/web/groups/raad/remove", data={"csrf_token": token, "status_id": "1"}
        )
        assert not_shared.status_code == 404
    actions = ["group.remove", "group.ban", "group.unban"]
    assert await _count(instance, AuditEntry, AuditEntry.action.in_(actions)) == 3
    async with ctx.db.read() as session:
        removal = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "group.remove"))
        ).scalar_one()
    assert removal.details["reason"] == "dubbel"


async def test_a_moderator_answers_join_requests_of_a_private_group(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(ctx.base_url), "besloten", private=True)
    mod = await make_user(ctx, "voorzitter", PASSWORD)
    piet, alice = await make_user(ctx, "piet", PASSWORD), await make_user(ctx, "alice", PASSWORD)
    async with ctx.db.transaction() as session:
        await add_moderator(session, group, mod)
    for requester in (piet, alice):
        await follow(ctx, requester, group)
    assert await _count(instance, FollowRequest, FollowRequest.target_account_id == group.id) == 2

    async with instance.client() as browser:
        await web_login(browser, "piet", PASSWORD)
        assert "Requests to join" not in (await browser.get("/@besloten")).text
        refused = await post_form(
            browser, "/web/compose", "/web/groups/besloten/accept", {"account_id": str(piet.id)}
        )
        assert refused.status_code == 403
    assert await _count(instance, Follow) == 0

    async with instance.client() as browser:
        await web_login(browser, "voorzitter", PASSWORD)
        dutch = await browser.get("/@besloten", headers={"Accept-Language": "nl"})
        assert "Verzoeken om lid te worden" in dutch.text and "@alice toelaten" in dutch.text
        page = await browser.get("/@besloten", headers={"Accept-Language": "en"})
        assert "Let @piet in" in page.text and "Turn @alice away" in page.text
        token = csrf_of(page.text)
        no_token = await browser.post("/web/groups/besloten/accept", data={"account_id": str(piet.id)})
        assert no_token.status_code == 403 and await _count(instance, Follow) == 0

        accepted = await browser.post(
            "/web/groups/besloten/accept", data={"csrf_token": token, "account_id": str(piet.id)}
        )
        assert accepted.status_code == 303
        declined = await browser.post(
            "/web/groups/besloten/decline", data={"csrf_token": token, "account_id": str(alice.id)}
        )
        assert declined.status_code == 303
        page = await browser.get("/@besloten", headers={"Accept-Language": "en"})
        assert "Nobody is waiting to join." in page.text
        gone = await browser.post(
            "/web/groups/besloten/decline", data={"csrf_token": token, "account_id": str(alice.id)}
        )
        assert gone.status_code == 404
    member = (Follow.account_id == piet.id, Follow.target_account_id == group.id)
    assert await _count(instance, Follow, *member) == 1 and await _count(instance, Follow) == 1
    assert await _count(instance, FollowRequest) == 0
    answers = ["group.join.accept", "group.join.reject"]
    assert await _count(instance, AuditEntry, AuditEntry.action.in_(answers)) == 2
