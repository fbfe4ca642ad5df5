"""The tier-1 flow with a real client: the PyPI `Mastodon.py` against live `plein serve` processes.

Mastodon.py registers an app and logs in through the authorization-code flow (the login + consent form is
submitted the way a person would, from the URL Mastodon.py builds), then posts, replies, boosts, favourites,
bookmarks, edits, finds an account on a second live instance with `search(resolve=True)` and follows it,
reads the home timeline and notifications, and pages with `fetch_next`. Mastodon.py is synchronous, so its
calls run in a thread.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from mastodon import Mastodon, MastodonAPIError

from storage.db import Database
from support.instance import PleinProcess, make_settings
from support.oauth import OOB, form_fields
from support.polls import make_poll_jobs_due
from support.scheduled import make_scheduled_due

PASSWORD = "a long enough test password"
SCOPES = ["read", "write", "follow", "push"]
T = TypeVar("T")


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)


@pytest.fixture
async def two_servers(tmp_path: Path) -> AsyncIterator[tuple[PleinProcess, PleinProcess]]:
    """Two `plein serve` processes on their own ports and data folders, with workers running."""
    servers = []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        servers.append(PleinProcess(make_settings(folder / "data"), folder))
    try:
        for server in servers:
            await server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


async def _log_in(server: PleinProcess, username: str) -> Mastodon:
    """Create `username`, then log in with Mastodon.py through the authorization-code flow."""
    server.cli("account", "create", username, "--password", PASSWORD)
    client_id, client_secret = await in_thread(
        Mastodon.create_app, "plein tests", scopes=SCOPES, redirect_uris=OOB, api_base_url=server.base_url
    )
    client = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url)
    authorize_url = await in_thread(
        client.auth_request_url, scopes=SCOPES, redirect_uris=OOB, allow_http=True
    )
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        answer = await browser.post(
            authorize_url.split("?", 1)[0],
            data={
                **form_fields(page.text),
                "username": username,
                "password": PASSWORD,
                "decision": "approve",
            },
        )
    assert answer.status_code == 200, answer.text
    match = re.search(r'id="oauth-code"[^>]*>([^<]+)<', answer.text)
    assert match, "the out-of-band page shows no code"
    await in_thread(
        client.log_in, code=match.group(1).strip(), redirect_uri=OOB, scopes=SCOPES, allow_http=True
    )
    return client


async def _eventually(check: Callable[[], Any], what: str, *, attempts: int = 150) -> Any:
    """Poll `check` (run in a thread) until it returns something truthy: federation is asynchronous."""
    for _ in range(attempts):
        result = await in_thread(check)
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


async def test_tier_one_flow_with_mastodon_py(two_servers: tuple[PleinProcess, PleinProcess]) -> None:
    first, second = two_servers
    alice = await _log_in(first, "alice")
    bob = await _log_in(first, "bob")
    rosa = await _log_in(second, "rosa")

    post = await in_thread(alice.status_post, "Hello from Mastodon.py #plein", visibility="public")
    assert post.account.username == "alice" and post.tags[0].name == "plein"
    reply = await in_thread(alice.status_post, "a reply", in_reply_to_id=post.id)
    assert str(reply.in_reply_to_id) == str(post.id)
    context = await in_thread(alice.status_context, post.id)
    assert [str(s.id) for s in context.descendants] == [str(reply.id)]

    boost = await in_thread(bob.status_reblog, post.id)
    assert str(boost.reblog.id) == str(post.id) and boost.reblog.reblogged
    favourited = await in_thread(bob.status_favourite, post.id)
    assert favourited.favourited and favourited.favourites_count == 1
    bookmarked = await in_thread(bob.status_bookmark, post.id)
    assert bookmarked.bookmarked
    assert [str(s.id) for s in await in_thread(bob.bookmarks)] == [str(post.id)]
    edited = await in_thread(alice.status_update, post.id, "Hello again from Mastodon.py")
    assert "again" in edited.content and edited.edited_at is not None
    history = await in_thread(alice.status_history, post.id)
    assert len(history) == 2
    await in_thread(bob.status_post, "@alice look at this")

    notifications = await in_thread(alice.notifications)
    assert [n.type for n in notifications] == ["mention", "favourite", "reblog"]
    assert [n.type for n in await in_thread(bob.notifications)] == ["update"]  # what bob boosted was edited

    # Paging with Link headers, the way Mastodon.py follows them.
    for number in range(5):
        await in_thread(alice.status_post, f"filler {number}")
    page = await in_thread(alice.timeline_home, limit=3)
    assert len(page) == 3
    following_page = await in_thread(alice.fetch_next, page)
    assert following_page and not {s.id for s in page} & {s.id for s in following_page}
    assert following_page[0].id < page[-1].id or int(following_page[0].id) < int(page[-1].id)

    me = await in_thread(alice.account_verify_credentials)
    assert me.id == post.account.id

    # Find and follow an account on the second instance, then see its post arrive.
    address = f"rosa@{second.settings.domain}"
    found = await in_thread(alice.search, f"@{address}", resolve=True)
    assert [account.acct for account in found.accounts] == [address]
    remote_rosa = found.accounts[0]
    await in_thread(alice.account_follow, remote_rosa.id)
    await _eventually(
        lambda: alice.account_relationships(remote_rosa.id)[0].following, "rosa accepts alice's follow"
    )
    rosa_post = await in_thread(rosa.status_post, "Greetings from the second ministry")
    arrived = await _eventually(
        lambda: [s for s in alice.timeline_home() if s.uri == rosa_post.uri], "rosa's post in alice's home"
    )
    assert arrived[0].account.acct == address
    followers = await _eventually(lambda: rosa.notifications(types=["follow"]), "rosa notified of the follow")
    assert followers[0].account.acct == f"alice@{first.settings.domain}"


@pytest.fixture
async def one_server(tmp_path: Path, database_url: str) -> AsyncIterator[PleinProcess]:
    """One `plein serve` process on each backend."""
    server = PleinProcess(make_settings(tmp_path / "data", database_url=database_url), tmp_path)
    try:
        await server.start()
        yield server
    finally:
        server.stop()


async def test_mutes_and_domain_blocks_with_mastodon_py(one_server: PleinProcess) -> None:
    alice = await _log_in(one_server, "alice")
    bob = await _log_in(one_server, "bob")
    bob_here = (await in_thread(alice.account_search, "bob"))[0]
    await in_thread(alice.account_follow, bob_here)
    await in_thread(bob.status_post, "before the mute")
    assert [s.content for s in await in_thread(alice.timeline_home)] == ["<p>before the mute</p>"]

    relationship = await in_thread(alice.account_mute, bob_here, notifications=False, duration=3600)
    assert relationship.muting and not relationship.muting_notifications and relationship.following
    (muted,) = await in_thread(alice.mutes)
    assert muted.acct == "bob" and muted.mute_expires_at is not None
    await in_thread(bob.status_post, "during the mute @alice")
    assert await in_thread(alice.timeline_home) == []
    assert [n.type for n in await in_thread(alice.notifications)] == ["mention"]  # notifications=False
    assert (await in_thread(alice.account_relationships, bob_here))[0].muting

    assert not (await in_thread(alice.account_unmute, bob_here)).muting
    assert await in_thread(alice.mutes) == []
    await in_thread(bob.status_post, "after the mute")
    assert (await in_thread(alice.timeline_home))[0].content == "<p>after the mute</p>"

    await in_thread(alice.domain_block, "Remote.Example")
    assert await in_thread(alice.domain_blocks) == ["remote.example"]
    await in_thread(alice.domain_unblock, "remote.example")
    assert await in_thread(alice.domain_blocks) == []


async def test_report_with_mastodon_py_then_moderators_act_from_the_cli(one_server: PleinProcess) -> None:
    server = one_server
    alice = await _log_in(server, "alice")
    mallory = await _log_in(server, "mallory")
    spam = await in_thread(mallory.status_post, "buy now", visibility="public")
    target = await in_thread(alice.account_lookup, "mallory")

    report = await in_thread(alice.report, target.id, status_ids=[spam.id], comment="spam", category="spam")
    assert (str(report.target_account.id), [str(i) for i in report.status_ids]) == (
        str(target.id),
        [str(spam.id)],
    )
    assert report.category == "spam" and report.action_taken is False
    listing = server.cli("report", "list").stdout
    assert listing.startswith(f"{report.id}\t") and "1 status(es)\tspam" in listing
    shown = server.cli("report", "show", str(report.id)).stdout
    assert f"status {spam.id}:" in shown and "category spam" in shown and "/users/alice" in shown

    # delete the reported statuses: gone for everyone, the report resolved, the audit log says who and why
    acted = server.cli("report", "action", str(report.id), "--delete-statuses", "--note", "spam removed")
    assert "1 status(es) deleted" in acted.stdout
    assert [] == await in_thread(alice.account_statuses, target.id)
    assert server.cli("report", "list").stdout == ""
    again = server.cli("report", "action", str(report.id), "--suspend", check=False)
    assert again.returncode == 2 and "already resolved" in again.stderr

    # a second report, resolved with a note and no action: the account keeps working
    second = await in_thread(alice.report, target.id, comment="still annoying")
    server.cli("report", "resolve", str(second.id), "--note", "not a violation")
    assert (await in_thread(mallory.account_verify_credentials)).username == "mallory"

    # a third, acted on with a suspension: mallory's token stops working
    third = await in_thread(alice.report, target.id, comment="ban evasion")
    server.cli("report", "action", str(third.id), "--suspend")
    with pytest.raises(Exception, match="401|403|suspended|token"):
        await in_thread(mallory.account_verify_credentials)
    audit = [line.split("\t") for line in server.cli("audit", "list").stdout.splitlines()]
    assert [(entry[2], entry[3]) for entry in audit] == [
        ("report.suspend", f"report:{third.id}"),
        ("report.resolve", f"report:{second.id}"),
        ("report.delete_statuses", f"report:{report.id}"),
    ]
    assert '"note":"spam removed"' in audit[-1][4]
    missing = server.cli("report", "resolve", "999999", check=False)
    assert missing.returncode == 2 and missing.stderr.endswith("plein: no report 999999\n")


async def test_lists_with_mastodon_py(one_server: PleinProcess) -> None:
    """Create a list, add a followed account, read its timeline, and see the member's posts kept out of home
    once the list is exclusive; a refused member (not followed) raises as Mastodon.py expects."""
    alice = await _log_in(one_server, "alice")
    bob = await _log_in(one_server, "bob")
    carol = await _log_in(one_server, "carol")
    bob_id = (await in_thread(bob.account_verify_credentials)).id
    carol_id = (await in_thread(carol.account_verify_credentials)).id
    await in_thread(alice.account_follow, bob_id)

    work = await in_thread(alice.list_create, "Work")
    assert work.title == "Work" and work.replies_policy == "list" and work.exclusive is False
    await in_thread(alice.list_accounts_add, work.id, [bob_id])
    with pytest.raises(MastodonAPIError):
        await in_thread(alice.list_accounts_add, work.id, [carol_id])
    assert [account.id for account in await in_thread(alice.list_accounts, work.id)] == [bob_id]
    assert [found.id for found in await in_thread(alice.account_lists, bob_id)] == [work.id]

    post = await in_thread(bob.status_post, "for the list")
    assert [status.id for status in await in_thread(alice.timeline_list, work.id)] == [post.id]
    assert post.id in [status.id for status in await in_thread(alice.timeline_home)]

    renamed = await in_thread(alice.list_update, work.id, title="Office", exclusive=True)
    assert renamed.title == "Office" and renamed.exclusive is True
    second = await in_thread(bob.status_post, "list only")
    assert [s.id for s in await in_thread(alice.timeline_list, work.id)] == [second.id, post.id]
    assert second.id not in [status.id for status in await in_thread(alice.timeline_home)]

    await in_thread(alice.list_accounts_delete, work.id, [bob_id])
    assert await in_thread(alice.timeline_list, work.id) == []
    await in_thread(alice.list_delete, work.id)
    assert await in_thread(alice.lists) == []


async def test_filters_with_mastodon_py(one_server: PleinProcess) -> None:
    """Filters v2 (keywords, statuses) and v1 with Mastodon.py's own calls; the home timeline hides what a
    `hide` filter matches and marks a `warn` match in `filtered`."""
    alice = await _log_in(one_server, "alice")
    bob = await _log_in(one_server, "bob")
    await in_thread(alice.account_follow, (await in_thread(bob.account_verify_credentials)).id)
    spoiler = await in_thread(bob.status_post, "Spoiler: the butler did it")
    await in_thread(bob.status_post, "An ordinary evening")

    hiding = await in_thread(
        alice.create_filter_v2,
        "Spoilers",
        ["home", "public"],
        "warn",
        keywords_attributes=[{"keyword": "butler", "whole_word": True}],
    )
    assert hiding.title == "Spoilers" and [k.keyword for k in hiding.keywords] == ["butler"]
    (marked,) = [s for s in await in_thread(alice.timeline_home) if s.id == spoiler.id]
    assert marked.filtered[0].filter.id == hiding.id and marked.filtered[0].keyword_matches == ["butler"]

    hiding = await in_thread(alice.update_filter_v2, hiding.id, filter_action="hide")
    assert [s.content for s in await in_thread(alice.timeline_home)] == ["<p>An ordinary evening</p>"]

    added = await in_thread(alice.add_filter_keyword_v2, hiding.id, "gardener", whole_word=False)
    assert [k.keyword for k in await in_thread(alice.filter_keywords_v2, hiding.id)] == ["butler", "gardener"]
    await in_thread(alice.delete_filter_keyword_v2, added.id)
    entry = await in_thread(alice.add_filter_status_v2, hiding.id, spoiler.id)
    assert str(entry.status_id) == str(spoiler.id)
    assert [e.id for e in await in_thread(alice.filter_statuses_v2, hiding.id)] == [entry.id]
    assert (await in_thread(alice.filter_status_v2, entry.id)).id == entry.id
    await in_thread(alice.delete_filter_status_v2, entry.id)
    assert [f.id for f in await in_thread(alice.filters_v2)] == [hiding.id]
    assert (await in_thread(alice.filter_v2, hiding.id)).filter_action == "hide"
    await in_thread(alice.delete_filter_v2, hiding.id)
    assert len(await in_thread(alice.timeline_home)) == 2

    v1 = await in_thread(alice.filter_create, "evening", ["home"], irreversible=True)
    assert v1.phrase == "evening" and v1.irreversible is True and v1.whole_word is True
    assert [f.id for f in await in_thread(alice.filters)] == [v1.id]
    assert [s.id for s in await in_thread(alice.timeline_home)] == [spoiler.id]
    v1 = await in_thread(alice.filter_update, v1.id, irreversible=False)
    assert (await in_thread(alice.filter, v1.id)).irreversible is False
    await in_thread(alice.filter_delete, v1.id)
    assert await in_thread(alice.filters) == []
    with pytest.raises(MastodonAPIError):
        await in_thread(alice.create_filter_v2, "Nowhere", ["inbox"], "warn")


async def test_polls_with_mastodon_py(one_server: PleinProcess) -> None:
    """Create, vote, read and refusals with Mastodon.py; the end of the poll is run by the serving
    process's own `polls` worker once its time has come (the rows are moved, not the clock)."""
    server = one_server
    alice = await _log_in(server, "alice")
    bob = await _log_in(server, "bob")
    posted = await in_thread(
        alice.status_post, "Lunch?", poll=alice.make_poll(["soup", "salad"], expires_in=300, multiple=False)
    )
    assert [option.title for option in posted.poll.options] == ["soup", "salad"]
    voted = await in_thread(bob.poll_vote, posted.poll.id, 1)
    assert voted.own_votes == [1] and voted.votes_count == 1 and voted.voted
    for refused in (
        lambda: alice.poll_vote(posted.poll.id, 0),  # own poll
        lambda: bob.poll_vote(posted.poll.id, 0),  # already voted
        lambda: bob.poll_vote(posted.poll.id, 7),  # no such option
        lambda: alice.status_post("one option", poll=alice.make_poll(["only"], expires_in=300)),
        lambda: alice.status_post("too short", poll=alice.make_poll(["a", "b"], expires_in=60)),
    ):
        with pytest.raises(MastodonAPIError):
            await in_thread(refused)
    assert (await in_thread(alice.poll, posted.poll.id)).options[1].votes_count == 1

    db = Database(server.settings.database_url)
    try:
        await make_poll_jobs_due(db, ending=True)
    finally:
        await db.dispose()
    for client in (alice, bob):
        [notification] = await _eventually(
            lambda client=client: client.notifications(types=["poll"]), "the poll's end is notified"
        )
        assert notification.status.id == posted.id and notification.status.poll.expired


async def test_scheduled_statuses_with_mastodon_py_survive_a_restart(one_server: PleinProcess) -> None:
    """Schedule, list, move and cancel with Mastodon.py; then the server stops, the time comes while it is
    down, and the restarted process's own worker publishes the status within seconds, once."""
    server = one_server
    alice = await _log_in(server, "alice")
    soon = datetime.now(UTC) + timedelta(hours=2)
    kept = await in_thread(alice.status_post, "see you later", scheduled_at=soon)
    dropped = await in_thread(
        alice.status_post, "never mind", scheduled_at=soon, poll=alice.make_poll(["a", "b"], expires_in=600)
    )
    assert {s.id for s in await in_thread(alice.scheduled_statuses)} == {kept.id, dropped.id}
    assert (await in_thread(alice.scheduled_status, dropped.id)).params.poll.options == ["a", "b"]
    moved = await in_thread(alice.scheduled_status_update, kept.id, soon + timedelta(days=1))
    assert moved.scheduled_at > soon
    with pytest.raises(MastodonAPIError):
        await in_thread(alice.scheduled_status_update, kept.id, datetime.now(UTC) + timedelta(minutes=1))
    with pytest.raises(MastodonAPIError):
        await in_thread(alice.status_post, "too soon", scheduled_at=datetime.now(UTC) + timedelta(minutes=2))
    await in_thread(alice.scheduled_status_delete, dropped.id)
    assert [s.id for s in await in_thread(alice.scheduled_statuses)] == [kept.id]

    alice.session.close()  # its kept-alive connection would outlive the stopped server
    server.stop()
    db = Database(server.settings.database_url)
    try:
        await make_scheduled_due(db)
    finally:
        await db.dispose()
    await server.start()
    [published] = await _eventually(
        lambda: alice.account_statuses(alice.me().id), "the scheduled status is published after the restart"
    )
    assert published.content == "<p>see you later</p>"
    assert await in_thread(alice.scheduled_statuses) == []


async def test_quotes_with_mastodon_py(one_server: PleinProcess) -> None:
    """Mastodon.py's 4.5 quote calls: quoting, the Quote entity, the quotes of a status, revoking one and
    changing the policy. Plein reports the 4.3 API, so Mastodon.py's version check is turned off."""
    alice = await _log_in(one_server, "alice")
    bob = await _log_in(one_server, "bob")
    for client in (alice, bob):
        client.version_check_mode = "none"
    original = await in_thread(alice.status_post, "Quote me", quote_approval_policy="public")
    assert original["quote_approval"]["automatic"] == ["public"]
    quoting = await in_thread(bob.status_post, "Well put", quoted_status_id=original["id"])
    assert (
        quoting["quote"]["state"] == "accepted" and quoting["quote"]["quoted_status"]["id"] == original["id"]
    )
    quotes = await in_thread(alice.status_quotes, original["id"])
    assert [status["id"] for status in quotes] == [quoting["id"]]
    kinds = [n["type"] for n in await in_thread(alice.notifications, types=["quote"])]
    assert kinds == ["quote"]
    revoked = await in_thread(alice.status_quote_revoke, original["id"], quoting["id"])
    assert revoked["quote"]["state"] == "revoked"
    assert await in_thread(alice.status_quotes, original["id"]) == []
    closed = await in_thread(alice.status_update_quote_approval_policy, original["id"], "nobody")
    assert closed["quote_approval"]["automatic"] == []
    with pytest.raises(MastodonAPIError):
        await in_thread(bob.status_post, "Again", quoted_status_id=original["id"])
