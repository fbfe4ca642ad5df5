"""Serving discovery: WebFinger (RFC 7033), host-meta (XRD and JSON) and NodeInfo 2.0 / 2.1."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apub.vocab import ACTIVITY_JSON, JRD_JSON
from storage.accounts import (
    INSTANCE_ACTOR_USERNAME,
    account_by_uri,
    is_account_actor,
    local_account_by_username,
)
from storage.context import Context
from storage.instance_profile import read_instance_profile
from storage.models import Status, User
from storage.software import MASTODON_COMPATIBILITY, SOFTWARE_NAME, software_version
from storage.types import utcnow
from storage.urls import LocalUrls

CORS = {"Access-Control-Allow-Origin": "*"}


def _error(message: str, status_code: int) -> Response:
    return JSONResponse({"error": message}, status_code=status_code, headers=CORS)


def _parse_resource(resource: str, ctx: Context) -> tuple[str, str] | None:
    """Map a WebFinger resource to ("username", name) or ("uri", actor uri); None if malformed."""
    resource = unquote(resource.strip())
    if resource.startswith("acct:"):
        resource = resource[5:]
    if resource.startswith(("http://", "https://")):
        urls = LocalUrls(ctx.base_url)
        if not urls.is_local(resource):
            return ("foreign", resource)
        path = urlsplit(resource).path
        if path.startswith("/@") and "/" not in path[2:]:
            return ("username", path[2:])
        return ("uri", resource)
    username, at, domain = resource.lstrip("@").rpartition("@")
    if not at or not username or not domain or " " in resource or "/" in resource:
        return None
    if not LocalUrls(ctx.base_url).is_local_host(domain):  # any spelling of our host: `Example.org.`
        return ("foreign", resource)
    return ("username", username)


async def webfinger(request: Request) -> Response:
    ctx: Context = request.state.ctx
    resource = request.query_params.get("resource")
    if not resource:
        return _error("resource parameter is required", 400)
    parsed = _parse_resource(resource, ctx)
    if parsed is None:
        return _error("resource must be acct:user@domain or an actor URL", 400)
    kind, value = parsed
    if kind == "foreign":
        return _error("not a resource of this domain", 404)
    async with ctx.db.read() as session:
        if kind == "username":
            account = await local_account_by_username(session, value)
            if account is None and value.lower() == INSTANCE_ACTOR_USERNAME:
                account = await account_by_uri(session, LocalUrls(ctx.base_url).instance_actor())
        else:
            account = await account_by_uri(session, value)
    if account is None or account.domain is not None or account.suspended_at is not None:
        return _error("no such account", 404)
    links: list[dict[str, Any]] = [{"rel": "self", "type": ACTIVITY_JSON, "href": account.uri}]
    if is_account_actor(account):
        links.insert(
            0, {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": account.url}
        )
    document = {
        "subject": f"acct:{account.username}@{ctx.domain}",
        "aliases": [account.uri] + ([account.url] if account.url and account.url != account.uri else []),
        "links": links,
    }
    return JSONResponse(document, media_type=JRD_JSON, headers=CORS)


async def host_meta(request: Request) -> Response:
    ctx: Context = request.state.ctx
    template = f"{ctx.base_url}/.well-known/webfinger?resource={{uri}}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{escape(template, {chr(34): "&quot;"})}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml", headers=CORS)


async def host_meta_json(request: Request) -> Response:
    ctx: Context = request.state.ctx
    template = f"{ctx.base_url}/.well-known/webfinger?resource={{uri}}"
    return JSONResponse({"links": [{"rel": "lrdd", "template": template}]}, headers=CORS)


async def nodeinfo_discovery(request: Request) -> Response:
    ctx: Context = request.state.ctx
    links = [
        {
            "rel": f"http://nodeinfo.diaspora.software/ns/schema/{version}",
            "href": f"{ctx.base_url}/nodeinfo/{version}",
        }
        for version in ("2.0", "2.1")
    ]
    return JSONResponse({"links": links}, headers=CORS)


async def _active_authors(ctx: Context, days: int) -> int:
    cutoff = utcnow() - timedelta(days=days)
    async with ctx.db.read() as session:
        statement = select(func.count(func.distinct(Status.account_id))).where(
            Status.local.is_(True), Status.created_at >= cutoff
        )
        return int((await session.execute(statement)).scalar_one())


async def _usage(ctx: Context) -> dict[str, Any]:
    async with ctx.db.read() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        posts = (
            await session.execute(
                select(func.count())
                .select_from(Status)
                .where(Status.local.is_(True), Status.deleted_at.is_(None), Status.reblog_of_id.is_(None))
            )
        ).scalar_one()
    return {
        "users": {
            "total": users,
            "activeMonth": await _active_authors(ctx, 30),
            "activeHalfyear": await _active_authors(ctx, 180),
        },
        "localPosts": posts,
    }


async def nodeinfo(request: Request) -> Response:
    ctx: Context = request.state.ctx
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        return _error("unknown NodeInfo version", 404)
    software: dict[str, Any] = {"name": SOFTWARE_NAME, "version": software_version()}
    profile = await read_instance_profile(ctx)
    if version == "2.1" and ctx.settings.instance.source_url:
        software["repository"] = ctx.settings.instance.source_url
    document = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "openRegistrations": profile.admits_anyone,
        "usage": await _usage(ctx),
        "metadata": {
            "nodeName": profile.name,
            "nodeDescription": profile.description,
            # Not a fork, but what clients read to know they may speak the Mastodon API here.
            "upstream": {"name": "mastodon", "version": MASTODON_COMPATIBILITY},
        },
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return JSONResponse(document, media_type=f'application/json; profile="{profile}"', headers=CORS)


routes = [
    Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/host-meta.json", host_meta_json, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_discovery, methods=["GET"]),
    Route("/nodeinfo/{version}", nodeinfo, methods=["GET"]),
]
