"""The rest of the vocabulary, delivered signed through the real inbox and read back through the client API:
`Article` and `Page` with their title and link, emoji reactions, a remote actor's featured collection."""

from __future__ import annotations

from sqlalchemy import func, select, update

from outbox.actions import favourite
from storage.media import media_root, write_file_folder
from storage.models import (
    Account,
    CustomEmoji,
    Favourite,
    HomeFeedEntry,
    Job,
    MediaAttachment,
    Status,
    StatusPin,
)
from storage.urls import LocalUrls
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


async def _local_status(world: InboxWorld) -> Status:
    async with world.ctx.db.transaction() as session:
        status = Status(uri="", account_id=world.alice.id, local=True, content="mine", visibility="public")
        session.add(status)
        await session.flush()
        status.uri = LocalUrls(world.instance.base_url).status("alice", status.id)
    return status


async def _favourites(world: InboxWorld) -> list[tuple[str | None, int]]:
    async with world.ctx.db.read() as session:
        rows = await session.execute(select(Favourite.reaction, Favourite.status_id).order_by(Favourite.id))
        return [tuple(row) for row in rows]


async def test_an_emoji_react_is_a_favourite_that_keeps_its_emoji(any_world: InboxWorld) -> None:
    world = any_world
    status = await _local_status(world)
    blobcat = {
        "id": f"{world.remote.base_url}/emojis/blobcat",
        "type": "Emoji",
        "name": ":blobcat:",
        "icon": {"type": "Image", "mediaType": "image/png", "url": f"{world.remote.base_url}/blobcat.png"},
    }
    react = world.ann.activity("EmojiReact", status.uri, content=":blobcat:", tag=[blobcat])
    await _accepted(world, react)
    assert await _favourites(world) == [(":blobcat:", status.id)]
    emoji = await world.scalar(select(CustomEmoji).where(CustomEmoji.shortcode == "blobcat"))
    assert emoji.domain == world.ann.uri.split("/")[2] and emoji.image_url.endswith("/blobcat.png")
    token = await make_token(world.ctx, "alice")
    entity = (await world.client.get(f"/api/v1/statuses/{status.id}", headers=bearer(token))).json()
    assert entity["favourites_count"] == 1
    notifications = (await world.client.get("/api/v1/notifications", headers=bearer(token))).json()
    assert [(n["type"], n["account"]["acct"].split("@")[0]) for n in notifications] == [("favourite", "ann")]
    by = (await world.client.get(f"/api/v1/statuses/{status.id}/favourited_by", headers=bearer(token))).json()
    assert [account["username"] for account in by] == ["ann"]

    await _accepted(
        world, world.ann.activity("Undo", {key: value for key, value in react.items() if key != "@context"})
    )
    assert await _favourites(world) == []
    assert await world.scalar(select(Status.favourites_count).where(Status.id == status.id)) == 0


async def test_misskey_likes_keep_their_reaction_and_plain_likes_none(world: InboxWorld) -> None:
    status = await _local_status(world)
    misskey = world.ann.activity("Like", status.uri, content="🍵", _misskey_reaction="🍵")
    plain = world.ben.activity("Like", status.uri)
    not_an_emoji = world.eve.activity("Like", status.uri, content="<b>hi</b>")
    for activity, signer in ((misskey, world.ann), (plain, world.ben), (not_an_emoji, world.eve)):
        await _accepted(world, activity, signer)
    assert await _favourites(world) == [("🍵", status.id), (None, status.id), (None, status.id)]
    await _accepted(world, world.ann.activity("Undo", misskey["id"]))  # by id
    assert [reaction for reaction, _ in await _favourites(world)] == [None, None]


async def test_an_emoji_react_without_an_emoji_is_refused(world: InboxWorld) -> None:
    status = await _local_status(world)
    for content in ("not one", ":unknown:", None):
        react = world.ann.activity("EmojiReact", status.uri, content=content)
        response = await world.deliver(react, world.ann)
        assert response.status_code == 202
        await world.drain()
    assert await _favourites(world) == []


async def test_our_favourite_goes_out_as_a_plain_like(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note()
    await _accepted(world, world.ann.activity("Create", note))
    status = await world.scalar(select(Status).where(Status.uri == note["id"]))
    await favourite(world.ctx, world.alice, status.id)
    await world.drain()
    [like] = [
        activity
        for path in ("/inbox", "/users/ann/inbox")
        for activity in world.remote.posted_to(path)
        if activity["type"] == "Like"
    ]
    assert like["actor"] == world.alice.uri and like["object"] == note["id"]
    assert not {"content", "_misskey_reaction", "tag"} & set(like)


async def _pinned_texts(world: InboxWorld, account_uri: str) -> list[str]:
    token = await make_token(world.ctx, "alice")
    account_id = await world.scalar(select(Account.id).where(Account.uri == account_uri))
    response = await world.client.get(
        f"/api/v1/accounts/{account_id}/statuses", params={"pinned": "true"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return [entity["content"] for entity in response.json()]


async def test_a_remote_featured_collection_and_its_add_and_remove(any_world: InboxWorld) -> None:
    world = any_world
    featured_url = f"{world.ann.uri}/collections/featured"
    world.ann.document["featured"] = featured_url
    first, second, third = (world.ann.note(f"<p>{text}</p>") for text in ("first", "second", "third"))
    elsewhere = world.eve.note("<p>not ann's</p>")
    for note in (first, second, third):
        world.remote.serve(note)
    world.other.serve(elsewhere)
    world.remote.serve(
        {
            "id": featured_url,
            "type": "OrderedCollection",
            "totalItems": 3,
            "orderedItems": [second, first["id"], elsewhere["id"]],  # embedded or by id; eve's is skipped
        }
    )
    await world.follow_locally(world.alice, world.ann)  # ann is first stored: her pins are read
    await world.drain()
    assert world.remote.fetched(featured_url)
    assert await _pinned_texts(world, world.ann.uri) == ["<p>second</p>", "<p>first</p>"]

    add = world.ann.activity("Add", third["id"], target=featured_url)
    await _accepted(world, add)
    remove = world.ann.activity(
        "Remove", first["id"], target={"id": featured_url, "type": "OrderedCollection"}
    )
    await _accepted(world, remove)
    assert await _pinned_texts(world, world.ann.uri) == ["<p>third</p>", "<p>second</p>"]


async def test_add_to_another_collection_or_of_another_status_pins_nothing(world: InboxWorld) -> None:
    featured_url = f"{world.ben.uri}/collections/featured"
    world.ben.document["featured"] = featured_url
    world.remote.serve({"id": featured_url, "type": "OrderedCollection", "orderedItems": []})
    await world.follow_locally(world.alice, world.ben)
    anns = world.ann.note("<p>ann's</p>")
    world.remote.serve(anns)
    bens = world.ben.note("<p>ben's</p>")
    world.remote.serve(bens)
    evs = world.eve.note("<p>eve's</p>")
    world.other.serve(evs)
    await _accepted(world, world.ben.activity("Add", anns["id"], target=featured_url), world.ben)
    await _accepted(world, world.ben.activity("Add", evs["id"], target=featured_url), world.ben)
    await _accepted(
        world, world.ben.activity("Add", bens["id"], target=f"{world.ben.uri}/elsewhere"), world.ben
    )
    await _accepted(world, world.ann.activity("Add", bens["id"], target=featured_url))  # not ann's collection
    assert await _pinned_texts(world, world.ben.uri) == []
    assert await world.scalar(select(func.count()).select_from(StatusPin)) == 0
    states = await world.scalar(
        select(func.count()).select_from(Job).where(Job.queue == "inbox", Job.state == "failed")
    )
    assert states == 2  # ann's status and eve's were refused, not pinned


async def test_an_actor_delete_leaves_no_feed_rows_attachments_or_profile_files(
    any_world: InboxWorld,
) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    note = world.ann.note(
        attachment=[{"type": "Document", "mediaType": "image/png", "url": f"{world.remote.base_url}/a.png"}]
    )
    await _accepted(world, world.ann.activity("Create", note))
    await _accepted(world, world.ann.activity("Announce", note["id"], to=[PUBLIC]))
    assert await world.scalar(select(func.count()).select_from(HomeFeedEntry)) == 2  # the post, the boost
    assert await world.scalar(select(func.count()).select_from(MediaAttachment)) == 1
    # Our copy of the attachment (the fake server has no file to fetch: the copy is put in place here).
    root = media_root(world.ctx.settings.server.data_dir)
    media = await world.scalar(select(MediaAttachment))
    folder = write_file_folder(root, media.id, {"original.png": b"copy"})
    async with world.ctx.db.transaction() as session:
        await session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id == media.id)
            .values(file_path=f"{folder}/original.png")
        )
    assert (root / folder).is_dir()
    await _accepted(world, world.ann.activity("Delete", world.ann.uri))
    assert not (root / folder).exists()
    assert await world.scalar(select(func.count()).select_from(HomeFeedEntry)) == 0
    assert await world.scalar(select(func.count()).select_from(MediaAttachment)) == 0
    ann = await world.scalar(select(Account).where(Account.uri == world.ann.uri))
    assert ann.gone_at is not None and ann.avatar_file is None and ann.header_file is None
