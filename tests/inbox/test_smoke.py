from __future__ import annotations

from sqlalchemy import select

from storage.models import Follow, Job
from support.inbox_world import InboxWorld


async def test_follow_is_accepted(world: InboxWorld) -> None:
    follow = world.ann.activity("Follow", world.alice.uri)
    response = await world.deliver(follow, world.ann)
    assert response.status_code == 202, response.text
    await world.drain()
    follows = await world.scalar(select(Follow).where(Follow.target_account_id == world.alice.id))
    assert follows is not None
    jobs = await world.scalar(select(Job).where(Job.queue == "inbox"))
    assert jobs.state == "done", jobs.last_error
