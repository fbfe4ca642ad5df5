"""Filters v2 and v1 through the real endpoints: CRUD with `keywords_attributes`, the keyword and status
sub-resources, v1 as Mastodon maps it onto v2, scopes, another account's filters and bad input (422 or
404, nothing changed); responses validated against the Mastodon OpenAPI description."""

from __future__ import annotations

from typing import Any

from checked import call

from outbox import actions
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity


def _keywords(entity: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(keyword["keyword"], keyword["whole_word"]) for keyword in entity["keywords"]]


async def test_v2_filter_crud_with_keywords_attributes(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        assert await call(a, "GET", "/api/v2/filters") == []
        created = await call(
            a,
            "POST",
            "/api/v2/filters",
            json={
                "title": "Sport",
                "context": ["home", "public"],
                "filter_action": "hide",
                "expires_in": 3600,
                "keywords_attributes": [
                    {"keyword": "football", "whole_word": True},
                    {"keyword": "ski", "whole_word": False},
                    {"keyword": "", "whole_word": ""},  # all blank: ignored, as Rails' reject_if
                    {"keyword": "never", "_destroy": True},  # not attached
                ],
            },
        )
        assert created["title"] == "Sport" and created["context"] == ["home", "public"]
        assert created["filter_action"] == "hide" and created["expires_at"] is not None
        assert _keywords(created) == [("football", True), ("ski", False)] and created["statuses"] == []
        path = f"/api/v2/filters/{created['id']}"
        assert await call(a, "GET", path) == created
        assert await call(a, "GET", "/api/v2/filters") == [created]

        football, ski = created["keywords"]
        updated = await call(
            a,
            "PUT",
            path,
            json={
                "title": "Sports",
                "context": ["thread"],
                "filter_action": "blur",
                "expires_in": None,  # never expires now
                "keywords_attributes": [
                    {"id": football["id"], "keyword": "rugby", "whole_word": False},
                    {"id": ski["id"], "_destroy": True},
                    {"keyword": "tennis"},
                ],
            },
        )
        assert updated["title"] == "Sports" and updated["context"] == ["thread"]
        assert updated["filter_action"] == "blur" and updated["expires_at"] is None
        assert _keywords(updated) == [("rugby", False), ("tennis", True)]
        assert updated["keywords"][0]["id"] == football["id"]
        # Form parameters with Rails bracket names work as well; what is not given stays.
        renamed = await call(
            a, "PUT", path, data={"title": "Games", "keywords_attributes[0][keyword]": "chess"}
        )
        assert renamed["title"] == "Games" and renamed["context"] == ["thread"]
        assert _keywords(renamed) == [("rugby", False), ("tennis", True), ("chess", True)]

        assert await call(a, "DELETE", path) == {}
        await call(a, "GET", path, expect=404)
        assert await call(a, "GET", "/api/v2/filters") == []


async def test_keyword_and_status_endpoints(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    alice = bearer(await make_token(ctx, "alice"))
    bob = await make_user(ctx, "bob")
    bobs_post = await actions.post_status(ctx, bob, text="Quarterly figures")
    bobs_secret = await actions.post_status(ctx, bob, text="for followers", visibility="private")
    async with instance.client(headers=alice) as a:
        created = await call(a, "POST", "/api/v2/filters", data={"title": "Noise", "context[]": "home"})
        assert created["filter_action"] == "warn" and created["keywords"] == []
        keywords_path = f"/api/v2/filters/{created['id']}/keywords"
        added = await call(a, "POST", keywords_path, data={"keyword": "budget", "whole_word": "false"})
        assert added == {"id": added["id"], "keyword": "budget", "whole_word": False}
        assert await call(a, "GET", keywords_path) == [added]
        keyword_path = f"/api/v2/filters/keywords/{added['id']}"
        assert await call(a, "GET", keyword_path) == added
        changed = await call(a, "PUT", keyword_path, json={"keyword": "figures", "whole_word": True})
        assert changed == {"id": added["id"], "keyword": "figures", "whole_word": True}
        assert await call(a, "DELETE", keyword_path) == {}
        await call(a, "GET", keyword_path, expect=404)
        assert await call(a, "GET", keywords_path) == []

        statuses_path = f"/api/v2/filters/{created['id']}/statuses"
        entry = await call(a, "POST", statuses_path, data={"status_id": str(bobs_post.id)})
        assert entry == {"id": entry["id"], "status_id": str(bobs_post.id)}
        assert await call(a, "GET", statuses_path) == [entry]
        entry_path = f"/api/v2/filters/statuses/{entry['id']}"
        assert await call(a, "GET", entry_path) == entry
        shown = await call(a, "GET", f"/api/v2/filters/{created['id']}")
        assert shown["statuses"] == [entry]
        # Refused: the same status again, a status alice may not see, a missing one, none at all.
        await call(a, "POST", statuses_path, data={"status_id": str(bobs_post.id)}, expect=422)
        await call(a, "POST", statuses_path, data={"status_id": str(bobs_secret.id)}, expect=422)
        await call(a, "POST", statuses_path, data={"status_id": "12345"}, expect=422)
        await call(a, "POST", statuses_path, data={}, expect=422)
        assert await call(a, "GET", statuses_path) == [entry]
        # The OpenAPI description says this answers the FilterStatus; Mastodon's controller renders `{}`.
        assert (await a.delete(entry_path)).json() == {}
        await call(a, "GET", entry_path, expect=404)
        assert await call(a, "GET", statuses_path) == []

        # Deleting a filter takes its keywords and statuses with it.
        again = await call(a, "POST", keywords_path, data={"keyword": "again"})
        await call(a, "POST", statuses_path, data={"status_id": str(bobs_post.id)})
        await call(a, "DELETE", f"/api/v2/filters/{created['id']}")
        await call(a, "GET", f"/api/v2/filters/keywords/{again['id']}", expect=404)


async def test_v1_filters_map_onto_v2_keywords(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        created = await call(
            a,
            "POST",
            "/api/v1/filters",
            data={"phrase": "election", "context[]": ["home", "notifications"], "irreversible": "true"},
        )
        validate_entity("V1Filter", created)
        assert created["phrase"] == "election" and created["irreversible"] is True
        assert created["whole_word"] is True and created["context"] == ["home", "notifications"]
        # Seen through v2: a filter titled with the phrase, holding that one keyword, hiding.
        (as_v2,) = await call(a, "GET", "/api/v2/filters")
        assert as_v2["title"] == "election" and as_v2["filter_action"] == "hide"
        assert as_v2["keywords"] == [{"id": created["id"], "keyword": "election", "whole_word": True}]

        listed = (await a.get("/api/v1/filters")).json()  # OpenAPI types this list as one V1Filter
        assert listed == [created]
        path = f"/api/v1/filters/{created['id']}"
        assert await call(a, "GET", path) == created
        updated = await call(
            a,
            "PUT",
            path,
            json={"phrase": "vote", "whole_word": False, "irreversible": False, "context": ["public"]},
        )
        assert updated == {
            **created,
            "phrase": "vote",
            "whole_word": False,
            "irreversible": False,
            "context": ["public"],
        }
        (as_v2,) = await call(a, "GET", "/api/v2/filters")
        assert (
            as_v2["title"] == "vote" and as_v2["filter_action"] == "warn" and as_v2["context"] == ["public"]
        )

        # With a second keyword in the filter, v1 may change the keyword but no longer the filter.
        await call(a, "POST", f"/api/v2/filters/{as_v2['id']}/keywords", data={"keyword": "ballot"})
        await call(a, "PUT", path, json={"context": ["home"]}, expect=422)
        assert (await call(a, "GET", path))["context"] == ["public"]
        assert (await call(a, "PUT", path, json={"whole_word": True}))["whole_word"] is True
        assert len((await a.get("/api/v1/filters")).json()) == 2

        # Deleting a v1 filter deletes its keyword only.
        assert await call(a, "DELETE", path) == {}
        await call(a, "GET", path, expect=404)
        (as_v2,) = await call(a, "GET", "/api/v2/filters")
        assert _keywords(as_v2) == [("ballot", True)]

        await call(a, "POST", "/api/v1/filters", data={"context[]": "home"}, expect=422)
        await call(a, "POST", "/api/v1/filters", data={"phrase": "x"}, expect=422)
        await call(a, "POST", "/api/v1/filters", data={"phrase": "x", "context[]": "inbox"}, expect=422)


async def test_bad_input_is_refused_and_changes_nothing(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a:
        refused = [
            {"context": ["home"]},  # no title
            {"title": "  ", "context": ["home"]},
            {"title": "x" * 300, "context": ["home"]},
            {"title": "t"},  # no context
            {"title": "t", "context": []},
            {"title": "t", "context": ["home", "inbox"]},
            {"title": "t", "context": ["home"], "filter_action": "delete"},
            {"title": "t", "context": ["home"], "expires_in": "soon"},
            {"title": "t", "context": ["home"], "expires_in": -5},
            {
                "title": "t",
                "context": ["home"],
                "keywords_attributes": [{"keyword": " ", "whole_word": True}],
            },
            {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k" * 513}]},
            {"title": "t", "context": ["home"], "keywords_attributes": ["word"]},
            {
                "title": "t",
                "context": ["home"],
                "keywords_attributes": [{"keyword": "a", "whole_word": "maybe"}],
            },
        ]
        for body in refused:
            error = await call(a, "POST", "/api/v2/filters", json=body, expect=422)
            assert error["error"], body
        # An `id` names an existing keyword of this filter: on a new filter, or another filter's, it is a 404.
        await call(
            a,
            "POST",
            "/api/v2/filters",
            json={"title": "t", "context": ["home"], "keywords_attributes": [{"id": "1", "keyword": "a"}]},
            expect=404,
        )
        assert await call(a, "GET", "/api/v2/filters") == []

        kept = await call(
            a,
            "POST",
            "/api/v2/filters",
            json={"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "a"}]},
        )
        path = f"/api/v2/filters/{kept['id']}"
        await call(a, "PUT", path, json={"context": ["nowhere"]}, expect=422)
        await call(a, "PUT", path, json={"title": ""}, expect=422)
        # A valid change alongside an unknown keyword id is rolled back whole.
        await call(
            a,
            "PUT",
            path,
            json={"title": "new", "keywords_attributes": [{"id": "999", "keyword": "b"}]},
            expect=404,
        )
        await call(a, "POST", f"{path}/keywords", data={"keyword": ""}, expect=422)
        await call(
            a,
            "PUT",
            f"/api/v2/filters/keywords/{kept['keywords'][0]['id']}",
            json={"keyword": ""},
            expect=422,
        )
        assert await call(a, "GET", path) == kept
        await call(a, "GET", "/api/v2/filters/nope", expect=404)
        await call(a, "GET", "/api/v2/filters/keywords/nope", expect=404)


async def test_another_accounts_filters_are_404_and_scopes_are_enforced(instance: RunningInstance) -> None:
    ctx = instance.ctx
    alice = bearer(await make_token(ctx, "alice"))
    mallory = bearer(await make_token(ctx, "mallory"))
    read_only = bearer(await make_token(ctx, "alice", scopes="read:filters"))
    statuses_only = bearer(await make_token(ctx, "alice", scopes="read:statuses write:statuses"))
    bob = await make_user(ctx, "bob")
    post = await actions.post_status(ctx, bob, text="hello")
    async with instance.client(headers=alice) as a, instance.client(headers=mallory) as m:
        created = await call(
            a,
            "POST",
            "/api/v2/filters",
            json={"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "a"}]},
        )
        entry = await call(
            a, "POST", f"/api/v2/filters/{created['id']}/statuses", data={"status_id": str(post.id)}
        )
        keyword_id = created["keywords"][0]["id"]
        for method, path in [
            ("GET", f"/api/v2/filters/{created['id']}"),
            ("PUT", f"/api/v2/filters/{created['id']}"),
            ("DELETE", f"/api/v2/filters/{created['id']}"),
            ("GET", f"/api/v2/filters/{created['id']}/keywords"),
            ("POST", f"/api/v2/filters/{created['id']}/keywords"),
            ("GET", f"/api/v2/filters/{created['id']}/statuses"),
            ("GET", f"/api/v2/filters/keywords/{keyword_id}"),
            ("PUT", f"/api/v2/filters/keywords/{keyword_id}"),
            ("DELETE", f"/api/v2/filters/keywords/{keyword_id}"),
            ("GET", f"/api/v2/filters/statuses/{entry['id']}"),
            ("DELETE", f"/api/v2/filters/statuses/{entry['id']}"),
            ("GET", f"/api/v1/filters/{keyword_id}"),
            ("PUT", f"/api/v1/filters/{keyword_id}"),
            ("DELETE", f"/api/v1/filters/{keyword_id}"),
        ]:
            await call(m, method, path, json={"keyword": "x", "title": "x"}, expect=404)
        assert await call(m, "GET", "/api/v2/filters") == []
        assert (await m.get("/api/v1/filters")).json() == []
        assert (await call(a, "GET", f"/api/v2/filters/{created['id']}"))["keywords"] == created["keywords"]

    async with instance.client(headers=read_only) as r, instance.client(headers=statuses_only) as s:
        assert len(await call(r, "GET", "/api/v2/filters")) == 1
        await call(r, "POST", "/api/v2/filters", json={"title": "t", "context": ["home"]}, expect=403)
        await call(r, "DELETE", f"/api/v2/filters/{created['id']}", expect=403)
        # The scope is checked before the parameters: a bad body from a read-only token is a 403.
        await call(r, "POST", f"/api/v2/filters/{created['id']}/keywords", data={}, expect=403)
        await call(r, "POST", f"/api/v2/filters/{created['id']}/statuses", data={}, expect=403)
        await call(r, "POST", "/api/v2/filters", json={"context": ["nowhere"]}, expect=403)
        await call(r, "POST", "/api/v1/filters", data={"phrase": "x", "context[]": "home"}, expect=403)
        await call(s, "GET", "/api/v2/filters", expect=403)
        await call(s, "GET", "/api/v1/filters", expect=403)
    async with instance.client() as anonymous:
        await call(anonymous, "GET", "/api/v2/filters", expect=401)
