"""Parameters from query, urlencoded, multipart and JSON bodies, with Rails brackets and booleans."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clientapi.errors import ApiError
from clientapi.params import Params, read_params, split_bracket_name, to_bool, unfold_pairs
from plein.errors import exception_handlers


async def echo(request: Request) -> Response:
    params = await read_params(request)
    return JSONResponse(
        {
            "values": {
                key: value
                for key, value in params.values.items()
                if isinstance(value, str | list | dict | int | bool)
            },
            "sensitive": params.get_bool("sensitive"),
            "limit": params.get_int("limit"),
        }
    )


def echo_client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/echo", echo, methods=["GET", "POST"])], exception_handlers=exception_handlers()
    )  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_bracket_names_unfold_into_lists_and_mappings() -> None:
    assert split_bracket_name("a[b][]") == ["a", "b", ""]
    assert split_bracket_name("plain") == ["plain"]
    assert split_bracket_name("broken[") == ["broken["]
    unfolded = unfold_pairs(
        [
            ("media_ids[]", "1"),
            ("media_ids[]", "2"),
            ("source[privacy]", "private"),
            ("fields_attributes[0][name]", "Site"),
            ("fields_attributes[0][value]", "https://example.org"),
            ("fields_attributes[1][name]", "Pronouns"),
            ("list[][name]", "a"),
            ("list[][value]", "b"),
            ("list[][name]", "c"),
        ]
    )
    assert unfolded["media_ids"] == ["1", "2"]
    assert unfolded["source"] == {"privacy": "private"}
    assert Params(unfolded).get_list("fields_attributes") == [
        {"name": "Site", "value": "https://example.org"},
        {"name": "Pronouns"},
    ]
    assert unfolded["list"] == [{"name": "a", "value": "b"}, {"name": "c"}]


@pytest.mark.parametrize("word", ["true", "1", "True", "on", "TRUE", "t", "yes"])
def test_true_words(word: str) -> None:
    assert to_bool(word) is True


@pytest.mark.parametrize("word", ["false", "0", "False", "off", "f", "no", ""])
def test_false_words(word: str) -> None:
    assert to_bool(word) is False


def test_bad_values_are_422_naming_the_parameter() -> None:
    params = Params({"sensitive": "maybe", "limit": "ten", "source": "x", "id": "12a"})
    for call in (
        lambda: params.get_bool("sensitive"),
        lambda: params.get_int("limit"),
        lambda: params.get_dict("source"),
        lambda: params.get_id("id"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status_code == 422
    with pytest.raises(ApiError, match="limit"):
        params.get_int("limit")
    assert Params({"limit": "90"}).get_int("limit", 20, maximum=40, clamp=True) == 40


async def test_query_form_multipart_and_json_all_read_the_same() -> None:
    async with echo_client() as client:
        from_query = (
            await client.get("/echo", params={"media_ids[]": ["1", "2"], "sensitive": "on", "limit": "5"})
        ).json()
        from_form = (
            await client.post("/echo", data={"media_ids[]": ["1", "2"], "sensitive": "on", "limit": "5"})
        ).json()
        from_multipart = (
            await client.post(
                "/echo",
                data={"media_ids[]": ["1", "2"], "sensitive": "on", "limit": "5"},
                files={"file": ("a.txt", b"hello", "text/plain")},
            )
        ).json()
        from_json = (
            await client.post("/echo", json={"media_ids": ["1", "2"], "sensitive": True, "limit": 5})
        ).json()
    for body in (from_query, from_form, from_multipart, from_json):
        assert body["values"]["media_ids"] == ["1", "2"]
        assert body["sensitive"] is True
        assert body["limit"] == 5


async def test_body_overrides_query_and_bad_json_is_422() -> None:
    async with echo_client() as client:
        body = (await client.post("/echo?limit=1", data={"limit": "2"})).json()
        assert body["limit"] == 2
        broken = await client.post(
            "/echo", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert "error" in broken.json()
        bad_bool = await client.get("/echo", params={"sensitive": "perhaps"})
        assert bad_bool.status_code == 422
        assert "sensitive" in bad_bool.json()["error"]
