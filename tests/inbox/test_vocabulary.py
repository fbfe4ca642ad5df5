"""The rest of the vocabulary, delivered signed through the real inbox and read back through the client API:
`Article` and `Page` with their title and link, emoji reactions, a remote actor's featured collection."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Status
from support.inbox_world import InboxWorld
from support.oauth import bearer, make_token

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _accepted(world: InboxWorld, activity: dict, signer=None) -> None:
    response = await world.deliver(activity, signer or world.ann)
    assert response.status_code == 202, response.text
    await world.drain()


async def test_an_article_keeps_its_title_and_link(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    page_url = f"{world.remote.base_url}/blog/tea-<harvest>"
    article = world.ann.note(
        "<p>The long text.</p>",
        type="Article",
        name="Tea & <b>harvest</b>",
        summary="What we picked",
        url=page_url,
    )
    await _accepted(world, world.ann.activity("Create", article))
    status = await world.scalar(select(Status).where(Status.uri == article["id"]))
    assert (status.object_type, status.title, status.url) == ("Article", "Tea & harvest", page_url)
    token = await make_token(world.ctx, "alice")
    response = await world.client.get(f"/api/v1/statuses/{status.id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    entity = response.json()
    assert entity["content"].startswith("<p><strong>Tea &amp; harvest</strong></p><p>What we picked</p>")
    assert "<p>The long text.</p>" in entity["content"]
    escaped = page_url.replace("<", "&lt;").replace(">", "&gt;")
    assert entity["content"].endswith(
        f'<p><a href="{escaped}" rel="nofollow noopener noreferrer">{escaped}</a></p>'
    )
    assert entity["spoiler_text"] == "" and entity["sensitive"] is False  # an abstract is no warning
    assert entity["url"] == page_url


async def test_a_page_title_from_its_name_map_and_an_edit_keeps_it(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    page = world.ann.note("<p>v1</p>", type="Page", nameMap={"nl": "Over ons"})
    await _accepted(world, world.ann.activity("Create", page))
    status = await world.scalar(select(Status).where(Status.uri == page["id"]))
    assert status.title == "Over ons"
    assert status.content.startswith("<p><strong>Over ons</strong></p><p>v1</p><p><a href=")
    edited = {**page, "content": "<p>v2</p>", "name": "About us", "updated": "2024-01-02T00:00:00Z"}
    await _accepted(world, world.ann.activity("Update", edited))
    status = await world.scalar(select(Status).where(Status.uri == page["id"]))
    assert status.title == "About us" and "<p>v2</p>" in status.content
    assert status.content.endswith(f'">{page["id"]}</a></p>')  # no url: the link is its id, as Mastodon


async def test_a_note_name_is_no_title(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note("<p>plain</p>", name="not a title")
    await _accepted(world, world.ann.activity("Create", note))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    assert (status.title, status.content) == (None, "<p>plain</p>")
