"""The admin pages over HTTP as a browser uses them (CSRF tokens from the pages, plain form posts): the
domain policy's preview and confirm with the same effects as `plein domain block`, the audit log it writes
(the entries `plein audit list` prints), the jobs and delivery page, and who may see and change what."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plein.admin import audit_command
from plein.cli import build_parser
from storage.deliveries import delivery_job_row
from storage.models import DeliveryHost, DomainBlock, Follow, Job, User
from storage.queue import enqueue_many
from storage.types import utcnow
from support.accounts import stored_remote_account
from support.instance import RunningInstance, make_settings
from support.staff import ENGLISH, serve_with_staff, signed_in
from support.web import csrf_of, post_form

BLOCKED = "blocked.example"
PAGES = ("/web/admin/domains", "/web/admin/audit", "/web/admin/jobs")


@pytest.fixture
async def instance(tmp_path: Path, database_url: str) -> AsyncIterator[RunningInstance]:
    """An instance on each backend with alice (a user), `beheer` (an admin) and `moder` (a moderator)."""
    async with serve_with_staff(make_settings(tmp_path, database_url=database_url)) as running:
        yield running


def _counts(page: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r'data-count="(\w+)">(\d+)<', page)}


async def _policy_rows(instance: RunningInstance) -> tuple[int, int, int]:
    """Blocks, follows and queued jobs for the blocked host."""
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        blocks = await session.scalar(select(func.count()).select_from(DomainBlock))
        follows = await session.scalar(select(func.count()).select_from(Follow))
        jobs = await session.scalar(select(func.count()).select_from(Job).where(Job.host == BLOCKED))
    return int(blocks or 0), int(follows or 0), int(jobs or 0)


async def test_admin_blocks_a_domain_after_a_dry_run_preview(
    instance: RunningInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.read() as session:
        alice = (await session.execute(select(User).where(User.role == "user"))).scalar_one()
    zed = await stored_remote_account(ctx, "zed", BLOCKED)
    yan = await stored_remote_account(ctx, "yan", BLOCKED)
    async with ctx.db.transaction() as session:
        session.add(
            Follow(account_id=zed.id, target_account_id=alice.account_id, uri=f"https://{BLOCKED}/f/1")
        )
        session.add(Follow(account_id=alice.account_id, target_account_id=yan.id, uri=None))
        await enqueue_many(
            session, [delivery_job_row(activity_id=1, sender_id=alice.account_id, inbox=yan.inbox_url)]
        )
    async with signed_in(instance, "beheer") as admin:
        listing = await admin.get("/web/admin/domains")
        assert listing.status_code == 200 and "Block-list mode" in listing.text
        fields = {"action": "block", "domain": f"https://{BLOCKED.upper()}/", "severity": "suspend"}
        preview = await admin.post(
            "/web/admin/domains/preview", data={"csrf_token": csrf_of(listing.text), **fields}
        )
        assert preview.status_code == 200, preview.text
        counts = _counts(preview.text)
        assert (counts["followers"], counts["following"], counts["deliveries"], counts["accounts"]) == (
            1,
            1,
            1,
            2,
        )
        assert await _policy_rows(instance) == (0, 2, 1)  # a dry run: nothing changed

        # The confirm form carries the change over; without its token nothing happens.
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', preview.text))
        assert hidden["domain"] == BLOCKED and hidden["action"] == "block"
        refused = await admin.post(
            "/web/admin/domains/apply", data={k: v for k, v in hidden.items() if k != "csrf_token"}
        )
        assert refused.status_code == 403
        assert await _policy_rows(instance) == (0, 2, 1)
        confirmed = await admin.post("/web/admin/domains/apply", data=hidden)
        assert confirmed.status_code == 303
        assert confirmed.headers["location"].startswith("/web/admin/domains?done=block")
        assert await _policy_rows(instance) == (1, 0, 0)  # the block, the follows cut, the deliveries dropped
        shown = await admin.get(confirmed.headers["location"])
        assert f"The block of {BLOCKED} is in force." in shown.text and "<td>suspend</td>" in shown.text

        audit = await admin.get("/web/admin/audit")
        assert audit.status_code == 200
        assert "<td>@beheer</td>" in audit.text and "<td>domain.block</td>" in audit.text
        assert f"<td>{BLOCKED}</td>" in audit.text and "followers=1" in audit.text
        args = build_parser().parse_args(["audit", "list", "--action", "domain.block"])
        assert await audit_command(ctx, args) == 0
        printed = capsys.readouterr().out.splitlines()
        assert len(printed) == 1 and f"@beheer\tdomain.block\t{BLOCKED}\t" in printed[0]

        # Unblocking goes the same two steps; asking to unblock a domain that is not blocked is refused.
        unblock = {"action": "unblock", "domain": BLOCKED}
        assert (
            await post_form(admin, "/web/admin/domains", "/web/admin/domains/preview", unblock)
        ).status_code == 200
        assert (
            await post_form(admin, "/web/admin/domains", "/web/admin/domains/apply", unblock)
        ).status_code == 303
        again = await post_form(admin, "/web/admin/domains", "/web/admin/domains/preview", unblock)
        assert again.status_code == 422 and "That domain is not blocked." in again.text
        bad = await post_form(
            admin,
            "/web/admin/domains",
            "/web/admin/domains/preview",
            {"action": "block", "domain": "not a host/"},
        )
        assert bad.status_code == 422 and "That is not a domain name." in bad.text
        assert (await _policy_rows(instance))[0] == 0

        filtered = await admin.get("/web/admin/audit", params={"action": "domain.unblock"})
        assert "<td>domain.unblock</td>" in filtered.text and "<td>domain.block</td>" not in filtered.text


async def test_admin_sets_the_public_and_private_comment_and_obfuscation(instance: RunningInstance) -> None:
    fields = {
        "action": "block",
        "domain": "spamfarm.example",
        "severity": "silence",
        "reject_reports": "1",
        "obfuscate": "1",
        "public_comment": "Only advertising",
        "private_comment": "Ticket 4711",
    }
    async with signed_in(instance, "beheer") as admin:
        for bad, message in (
            ({"private_comment": "x" * 1001}, "A comment may be at most 1000 characters long."),
            ({"public_comment": "x" * 1001}, "A comment may be at most 1000 characters long."),
            ({"severity": "nuke"}, "Choose suspend, silence or no restriction."),
        ):
            for step in ("preview", "apply"):
                refused = await post_form(
                    admin, "/web/admin/domains", f"/web/admin/domains/{step}", {**fields, **bad}
                )
                assert refused.status_code == 422 and message in refused.text
        assert (await _policy_rows(instance))[0] == 0
        preview = await post_form(admin, "/web/admin/domains", "/web/admin/domains/preview", fields)
        assert preview.status_code == 200 and "The public list shows it as spamf***.***mple." in preview.text
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', preview.text))
        assert {name: hidden[name] for name in fields} == fields
        assert (await admin.post("/web/admin/domains/apply", data=hidden)).status_code == 303
        listing = await admin.get("/web/admin/domains")
        for shown in ("Only advertising", "Ticket 4711", "spamf***.***mple (obfuscated)"):
            assert shown in listing.text
        audit = await admin.get("/web/admin/audit", params={"action": "domain.block"})
        assert "Ticket 4711" in audit.text and "<dt>obfuscate</dt><dd>True</dd>" in audit.text
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        block = await session.get(DomainBlock, "spamfarm.example")
    assert block is not None
    assert (block.severity, block.reject_media, block.reject_reports, block.obfuscate) == (
        "silence",
        False,
        True,
        True,
    )
    assert (block.public_comment, block.private_comment) == ("Only advertising", "Ticket 4711")


async def test_who_may_see_and_change_the_admin_pages(instance: RunningInstance) -> None:
    async with instance.client(headers=ENGLISH) as visitor:
        for page in PAGES:
            response = await visitor.get(page)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    async with signed_in(instance, "alice") as user:
        for page in PAGES:
            assert (await user.get(page)).status_code == 403, page
        token = csrf_of((await user.get("/about")).text)
        for action in ("preview", "apply"):
            response = await user.post(
                f"/web/admin/domains/{action}",
                data={"csrf_token": token, "action": "block", "domain": BLOCKED},
            )
            assert response.status_code == 403
    async with signed_in(instance, "moder") as moderator:
        listing = await moderator.get("/web/admin/domains")
        assert listing.status_code == 200 and "Only administrators change the domain policy" in listing.text
        assert 'action="/web/admin/domains/preview"' not in listing.text
        assert (await moderator.get("/web/admin/audit")).status_code == 200
        assert (await moderator.get("/web/admin/jobs")).status_code == 403  # admins only
        for action in ("preview", "apply"):
            response = await moderator.post(
                f"/web/admin/domains/{action}",
                data={"csrf_token": csrf_of(listing.text), "action": "block", "domain": BLOCKED},
            )
            assert response.status_code == 403
    assert (await _policy_rows(instance))[0] == 0


async def test_jobs_page_shows_the_failing_host_first(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    now = utcnow()
    async with ctx.db.transaction() as session:
        session.add(DeliveryHost(host="fine.example", consecutive_failures=0, last_success_at=now))
        session.add(
            DeliveryHost(
                host="down.example",
                consecutive_failures=7,
                paused_until=now + timedelta(hours=2),
                last_failure_at=now,
            )
        )
        await enqueue_many(
            session,
            [
                delivery_job_row(activity_id=n, sender_id=1, inbox=f"https://down.example/inbox{n}")
                for n in range(3)
            ],
        )
        session.add(
            Job(
                queue="deliver",
                payload={},
                host="gone.example",
                state="failed",
                tries=9,
                last_error="HTTP 500",
                finished_at=now,
            )
        )
    async with signed_in(instance, "beheer") as admin:
        page = await admin.get("/web/admin/jobs")
    assert page.status_code == 200
    text = page.text
    assert text.index("down.example") < text.index("fine.example")  # worst first
    row = re.search(r'<th scope="row">down\.example</th>(.*?)</tr>', text, re.S)
    assert row is not None
    assert (
        "open: paused until" in row.group(1) and "<td>7</td>" in row.group(1) and "<td>3</td>" in row.group(1)
    )
    queue = re.search(r'<th scope="row">deliver</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', text)
    assert queue is not None and queue.groups() == ("3", "0", "1")
    assert "gone.example" in text and "HTTP 500" in text
