"""The form posts of a working group's moderation block (`web/group_panel`, on the group's page): take a
post out of the group, ban an account, lift a ban, let someone into a private group or turn them away. Signed in and CSRF-checked (`form_endpoint`), then the
same actions as the CLI and the client API (`outbox.actions.groups`, `outbox.actions.group_joins`), which refuse anyone who does not
moderate the group (a 403 page)."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn
from outbox.actions.group_joins import answer_join_request
from outbox.actions.groups import ban_from_group, remove_from_group, unban_from_group
from outbox.errors import ActionError
from storage.accounts import local_account_by_username
from storage.context import Context
from storage.groups import is_group
from storage.ids import parse_id
from storage.models import Account
from web.forms import Form
from web.pages import error_page
from web.staff.access import form_endpoint, see_other

PAGE = "/web/groups/{username}"


async def _group_and_id(request: Request, form: Form, field: str) -> tuple[Account, int] | Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        group = await local_account_by_username(session, request.path_params["username"])
    if group is None or not is_group(group):
        return await error_page(request, 404, "no_account")
    chosen = parse_id(form.get(field))
    if chosen is None:
        return await error_page(request, 400, "bad_request")
    return group, chosen


async def _acted(request: Request, group: Account, act: Awaitable[object]) -> Response:
    try:
        await act
    except (
        ActionError
    ) as error:  # not a moderator (403), not a post the group shared (404), a moderator banned
        kind = {403: "forbidden", 404: "no_post", 422: "bad_request"}.get(error.status_code, "not_done")
        return await error_page(request, error.status_code, kind)
    return see_other(f"/@{group.username}#group-moderation")


async def remove(request: Request, login: SignedIn, form: Form) -> Response:
    found = await _group_and_id(request, form, "status_id")
    if isinstance(found, Response):
        return found
    group, status_id = found
    removal = remove_from_group(request.state.ctx, group, login.account, status_id, reason=form.get("reason"))
    return await _acted(request, group, removal)


async def _group_and_account(request: Request, form: Form) -> tuple[Account, Account] | Response:
    found = await _group_and_id(request, form, "account_id")
    if isinstance(found, Response):
        return found
    group, account_id = found
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        target = await session.get(Account, account_id)
    if target is None:
        return await error_page(request, 404, "no_account")
    return group, target


async def _ban_or_unban(request: Request, login: SignedIn, form: Form, *, ban: bool) -> Response:
    found = await _group_and_account(request, form)
    if isinstance(found, Response):
        return found
    group, target = found
    act = ban_from_group if ban else unban_from_group
    reason = form.get("reason")
    return await _acted(request, group, act(request.state.ctx, group, login.account, target, reason=reason))


async def _answer(request: Request, login: SignedIn, form: Form, *, accept: bool) -> Response:
    found = await _group_and_account(request, form)
    if isinstance(found, Response):
        return found
    group, requester = found
    answer = answer_join_request(request.state.ctx, group, login.account, requester, accept=accept)
    return await _acted(request, group, answer)


async def accept(request: Request, login: SignedIn, form: Form) -> Response:
    return await _answer(request, login, form, accept=True)


async def decline(request: Request, login: SignedIn, form: Form) -> Response:
    return await _answer(request, login, form, accept=False)


async def ban(request: Request, login: SignedIn, form: Form) -> Response:
    return await _ban_or_unban(request, login, form, ban=True)


async def unban(request: Request, login: SignedIn, form: Form) -> Response:
    return await _ban_or_unban(request, login, form, ban=False)


routes = [
    Route(f"{PAGE}/remove", form_endpoint(remove, roles=None), methods=["POST"]),
    Route(f"{PAGE}/ban", form_endpoint(ban, roles=None), methods=["POST"]),
    Route(f"{PAGE}/unban", form_endpoint(unban, roles=None), methods=["POST"]),
    Route(f"{PAGE}/accept", form_endpoint(accept, roles=None), methods=["POST"]),
    Route(f"{PAGE}/decline", form_endpoint(decline, roles=None), methods=["POST"]),
]
