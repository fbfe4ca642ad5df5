"""The media of a deleted status: refused at once, moved out of the public media folder by the `media` job
queued in the deletion's transaction, deleted with their rows after `privacy.deleted_media_days`."""

from __future__ import annotations

from datetime import timedelta

from checked import call
from sqlalchemy import select, update
from test_media import png_bytes, stored_file, upload

from plein.jobs import job_handlers
from storage.media import media_root
from storage.media_lifecycle import withdrawn_root
from storage.models import MediaAttachment, Status
from storage.queue import ClaimedJob
from storage.retention import maintenance_handler
from storage.types import utcnow
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import bearer, make_token


async def test_deleted_status_media_leave_the_public_folder(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    data_dir = instance.settings.server.data_dir
    async with instance.client() as http:
        http.headers.update(bearer(token))
        kept = await upload(http, png_bytes())
        gone = await upload(http, png_bytes())
        other = await call(
            http, "POST", "/api/v1/statuses", json={"status": "stays", "media_ids": [kept["id"]]}
        )
        doomed = await call(
            http, "POST", "/api/v1/statuses", json={"status": "goes", "media_ids": [gone["id"]]}
        )
        assert (await http.get(gone["url"])).status_code == 200
        await call(http, "DELETE", f"/api/v1/statuses/{doomed['id']}")
        # Refused at once, before any job ran; the file is still where it was.
        for url in (gone["url"], gone["preview_url"]):
            answer = await http.get(url)
            assert answer.status_code == 404
        assert stored_file(instance, gone["url"]).is_file()
        await drain(ctx.db, job_handlers(ctx))
        folder = gone["url"].split("/media/", 1)[1].split("/")[0]
        assert not (media_root(data_dir) / folder).exists()  # nothing a proxy could serve from disk
        assert (withdrawn_root(data_dir) / folder / "original.png").is_file()
        assert (await http.get(kept["url"])).status_code == 200  # another status's media are untouched
        assert other["media_attachments"][0]["id"] == kept["id"]

    # Kept for privacy.deleted_media_days, then the maintenance run deletes files and rows.
    handler = maintenance_handler(ctx.db, security_log_days=14, data_dir=data_dir, deleted_media_days=30)
    job = ClaimedJob(
        id=0, queue="maintenance", payload={"kind": "retention"}, tries=1, host=None, created_at=utcnow()
    )
    await handler(job)
    assert (withdrawn_root(data_dir) / folder).is_dir()
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Status)
            .where(Status.id == int(doomed["id"]))
            .values(deleted_at=utcnow() - timedelta(days=31))
        )
    await handler(job)
    assert not (withdrawn_root(data_dir) / folder).exists()
    async with ctx.db.read() as session:
        remaining = set((await session.execute(select(MediaAttachment.id))).scalars())
    assert remaining == {int(kept["id"])}


async def test_orphaned_uploads_are_deleted_after_a_day(instance_on_each_backend: RunningInstance) -> None:
    """An upload no status took is deleted with its files once `media.orphan_upload_hours` old; media of a
    status, media held by a scheduled status and the avatar are no orphans."""
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    async with instance.client() as http:
        http.headers.update(bearer(token))
        orphan, young, attached, held = [await upload(http, png_bytes()) for _ in range(4)]
        await call(http, "POST", "/api/v1/statuses", json={"status": "with", "media_ids": [attached["id"]]})
        later = (utcnow() + timedelta(hours=2)).isoformat()
        await call(
            http,
            "POST",
            "/api/v1/statuses",
            json={"status": "later", "scheduled_at": later, "media_ids": [held["id"]]},
        )
        account = await call(
            http,
            "PATCH",
            "/api/v1/accounts/update_credentials",
            files={"avatar": ("me.png", png_bytes(), "image/png")},
        )
        old = [int(item["id"]) for item in (orphan, attached, held)]
        async with ctx.db.transaction() as session:
            await session.execute(
                update(MediaAttachment)
                .where(MediaAttachment.id.in_(old) | (MediaAttachment.media_type == "avatar"))
                .values(created_at=utcnow() - timedelta(hours=25))
            )
        handler = job_handlers(ctx)["maintenance"]
        await handler(
            ClaimedJob(
                id=0,
                queue="maintenance",
                payload={"kind": "retention"},
                tries=1,
                host=None,
                created_at=utcnow(),
            )
        )
        assert (await http.get(orphan["url"])).status_code == 404
        assert not stored_file(instance, orphan["url"]).parent.exists()
        for kept in (young, attached, held):
            assert (await http.get(kept["url"])).status_code == 200
        assert (await http.get(account["avatar"])).status_code == 200
        async with ctx.db.read() as session:
            remaining = set((await session.execute(select(MediaAttachment.id))).scalars())
        assert int(orphan["id"]) not in remaining
        assert {int(item["id"]) for item in (young, attached, held)} <= remaining
        # The held upload is still the scheduled status's.
        scheduled = await call(http, "GET", "/api/v1/scheduled_statuses")
        assert scheduled[0]["media_attachments"][0]["id"] == held["id"]
