"""A status in three languages between two real Plein instances: every language arrives (`contentMap`,
`summaryMap`), readers on the receiving side see their own, and an edit that drops one is followed."""

from __future__ import annotations

from outbox.actions import edit_status, follow, post_status
from outbox.actions.status_languages import VariantDraft
from storage.models import StatusEdit
from storage.status_variants import variants_of
from support.federation import settle
from support.oauth import bearer, make_token

DRAFTS = [VariantDraft("fy", "Goeie moarn", "waar"), VariantDraft("en", "Good morning", "weather")]


async def test_trilingual_status_federates_with_every_language(trio):
    a, b, _ = trio
    alice, bob = await a.local("alice"), await b.local("bob")
    await follow(b.ctx, bob, await b.resolve(alice, a))
    await settle(a, b)

    post = await post_status(
        a.ctx, alice, text="Goedemorgen", spoiler_text="weer", language="nl", variants=DRAFTS
    )
    await settle(a, b)
    copy = await b.status(post.uri)
    assert copy is not None and copy.language == "nl" and "Goedemorgen" in copy.content
    async with b.ctx.db.read() as session:
        received = (await variants_of(session, [copy.id]))[copy.id]
    assert [(v.language, v.spoiler_text) for v in received] == [("en", "weather"), ("fy", "waar")]
    assert "Good morning" in received[0].content and "Goeie moarn" in received[1].content

    token = await make_token(b.ctx, "bob")
    async with b.running.client(headers={**bearer(token), "Accept-Language": "fy"}) as reader:
        shown = (await reader.get(f"/api/v1/statuses/{copy.id}")).json()
    assert shown["language"] == "fy" and "Goeie moarn" in shown["content"] and shown["spoiler_text"] == "waar"
    assert shown["plein_languages"] == ["nl", "en", "fy"]

    await edit_status(
        a.ctx,
        alice,
        post.id,
        text="Goedemiddag",
        language="nl",
        variants=[VariantDraft("en", "Good afternoon")],
    )
    await settle(a, b)
    async with b.ctx.db.read() as session:
        after = (await variants_of(session, [copy.id]))[copy.id]
    assert [(v.language, v.content) for v in after] == [("en", "<p>Good afternoon</p>")]
    assert await b.count(StatusEdit, StatusEdit.status_id == copy.id) == 2
