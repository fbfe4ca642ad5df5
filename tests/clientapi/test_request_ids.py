"""A request's id follows its work into the queue: jobs queued while serving a request keep the id the
response carried, the worker runs each job under that id (so its log lines carry it), and jobs queued by a
job keep it too."""

from __future__ import annotations

import logging

import pytest
from checked import call
from test_media import png_bytes, upload

from plein.logs import RequestIdFilter
from storage.queue import ClaimedJob, claim, enqueue
from storage.request_ids import REQUEST_ID
from storage.worker import run_one
from support.instance import RunningInstance
from support.oauth import bearer, make_token


async def test_jobs_carry_the_request_id_into_their_logs(
    instance: RunningInstance, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    async with instance.client() as http:
        http.headers.update(bearer(token))
        media = await upload(http, png_bytes())
        posted = await call(
            http, "POST", "/api/v1/statuses", json={"status": "x", "media_ids": [media["id"]]}
        )
        deleted = await http.delete(f"/api/v1/statuses/{posted['id']}")
    request_id = deleted.headers["x-request-id"]
    [job] = await claim(ctx.db, "media", worker_id="test", limit=10)
    assert job.request_id == request_id

    seen: list[str] = []

    async def handler(claimed: ClaimedJob) -> None:
        seen.append(REQUEST_ID.get())
        logging.getLogger("plein.test").warning("working on it")
        async with ctx.db.transaction() as session:
            await enqueue(session, "test-child", {})

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="plein.test"):
        await run_one(ctx.db, handler, job)
    assert seen == [request_id]
    assert [
        getattr(record, "request_id", None) for record in caplog.records if record.name == "plein.test"
    ] == [request_id]
    assert REQUEST_ID.get() == ""  # not left behind for the next job
    [child] = await claim(ctx.db, "test-child", worker_id="test", limit=10)
    assert child.request_id == request_id

    # A job queued outside any request (the maintenance schedule, a CLI) runs under its own id.
    async with ctx.db.transaction() as session:
        await enqueue(session, "test-orphan", {})
    [orphan] = await claim(ctx.db, "test-orphan", worker_id="test", limit=10)
    assert orphan.request_id is None
    seen.clear()
    await run_one(ctx.db, handler, orphan)
    assert seen == [f"job-{orphan.id}"]
