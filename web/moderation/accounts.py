"""`/web/admin/accounts`: search the accounts (by username, domain or e-mail address; local or remote; by
state), 50 a page, older ones by `?max_id=` (keyset by id), and one account with its recent posts, the
reports about it and its appeals (decided with `web.moderation.appeals`). Its actions — approve or reject a waiting sign-up, warn, disable the login, mark the
media sensitive, silence, suspend and lift those (told to the account when asked), reset the second
factor, change the role (admins only) — are form posts to the `moderation` and `registration` functions
the admin API calls."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
import registration
from login.sessions import SignedIn
from storage.account_filters import moderated_accounts, state_condition, text_matches
from storage.appeals import appeals_of_account
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, Report, Status, User
from web.forms import Form
from web.moderation.common import ADMIN_PAGE, actor_of, older_page_url, older_than, refused
from web.moderation.reports import accounts_by_id
from web.pages import error_page, render_page
from web.posts import load_posts
from web.staff.access import form_endpoint, see_other, staff_or_refusal

PAGE = f"{ADMIN_PAGE}/accounts"
PAGE_SIZE = 50
RECENT_POSTS = 10
ORIGINS = ("", "local", "remote")
STATES = ("", "pending", "active", "disabled", "sensitized", "silenced", "suspended")
# The actions of the account page, each one `moderation` (or `registration`) function.
MODERATE = {
    "warn": "none",
    "disable": "disable",
    "enable": "enable",
    "sensitive": "sensitive",
    "unsensitive": "unsensitive",
    "silence": "silence",
    "unsilence": "unsilence",
    "suspend": "suspend",
    "unsuspend": "unsuspend",
}
ACTIONS = (*MODERATE, "approve", "reject", "reset_second_factor", "role")


def _search(query: str, origin: str, state: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query:
        conditions.append(
            or_(
                text_matches(Account.username, query.lstrip("@")),
                text_matches(Account.domain, query),
                text_matches(User.email, query),
            )
        )
    if origin == "local":
        conditions.append(Account.domain.is_(None))
    elif origin == "remote":
        conditions.append(Account.domain.is_not(None))
    if state:
        conditions.append(state_condition(state))
    return conditions


async def accounts_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    query = request.query_params.get("q", "").strip()[:255]
    origin = request.query_params.get("origin", "")
    state = request.query_params.get("state", "")
    max_id = older_than(request)
    if origin not in ORIGINS or state not in STATES or max_id is False:
        return await error_page(request, 400, "bad_request")
    statement = moderated_accounts().where(*_search(query, origin, state))
    if max_id is not None:
        statement = statement.where(Account.id < max_id)
    async with ctx.db.read() as session:
        found = (await session.execute(statement.order_by(Account.id.desc()).limit(PAGE_SIZE + 1))).all()
    rows = found[:PAGE_SIZE]
    return await render_page(
        request,
        "moderation/accounts.html",
        headers={"Cache-Control": "no-store"},
        rows=rows,
        next_url=older_page_url(request, rows[-1][0].id) if len(found) > PAGE_SIZE else None,
        query=query,
        origin=origin,
        state=state,
        states=STATES,
        done=request.query_params.get("done", ""),
    )


async def account_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    account_id = parse_id(request.path_params["id"])
    async with ctx.db.read() as session:
        row = (
            (await session.execute(moderated_accounts().where(Account.id == account_id))).first()
            if account_id is not None
            else None
        )
        if row is None:
            return await error_page(request, 404, "no_account")
        account, user = row
        recent = list(
            (
                await session.execute(
                    select(Status)
                    .where(Status.account_id == account.id, Status.deleted_at.is_(None))
                    .order_by(Status.id.desc())
                    .limit(RECENT_POSTS)
                )
            ).scalars()
        )
        posts = await load_posts(ctx, session, recent)
        reports = list(
            (
                await session.execute(
                    select(Report).where(Report.target_account_id == account.id).order_by(Report.id.desc())
                )
            ).scalars()
        )
        reporters = await accounts_by_id(session, [report.account_id for report in reports])
        appeals = await appeals_of_account(session, account.id)
    return await render_page(
        request,
        "moderation/account.html",
        headers={"Cache-Control": "no-store"},
        account=account,
        login_row=user,
        posts=posts,
        reports=reports,
        reporters=reporters,
        appeals=appeals,
        may_moderate=moderation.may_moderate(login.user.role, user.role if user else None),
        may_change_roles=moderation.may_change_roles(login.user.role) and user is not None,
        roles=moderation.permissions.ROLES,
        done=request.query_params.get("done", ""),
    )


async def _act(ctx: Context, login: SignedIn, account_id: int, action: str, form: Form) -> str:
    """Carry out `action`; where to go next. ModerationError / NotPermitted when refused."""
    actor, note = actor_of(login), form.get("note").strip()
    if action == "role":
        if not moderation.may_change_roles(login.user.role):
            raise moderation.NotPermitted("Only an admin changes roles")
        await moderation.change_role(ctx, account_id, form.get("role"), actor=actor)
        return f"{PAGE}/{account_id}?done=role"
    await moderation.check_may_moderate(ctx, login.user.role, account_id)
    if action in MODERATE:
        telling = moderation.Telling(tell=form.get("tell") == "1", send_email=form.get("send_email") == "1")
        await moderation.moderate_account(
            ctx, account_id, MODERATE[action], actor=actor, text=note, telling=telling
        )
    elif action == "reset_second_factor":
        await moderation.reset_second_factor(ctx, account_id, actor=actor, note=note)
    elif action == "approve":
        await registration.approve_sign_up(ctx, account_id=account_id, actor=actor)
    else:  # reject: the account is gone, back to the list
        await registration.reject_sign_up(ctx, account_id=account_id, actor=actor)
        return f"{PAGE}?done=rejected"
    return f"{PAGE}/{account_id}?done={action}"


async def act(request: Request, login: SignedIn, form: Form) -> Response:
    ctx: Context = request.state.ctx
    account_id = parse_id(request.path_params["id"])
    action = form.get("action")
    if account_id is None or action not in ACTIONS:
        return await error_page(request, 400, "bad_request")
    try:
        return see_other(await _act(ctx, login, account_id, action, form))
    except moderation.ModerationError as error:
        return await refused(request, error)
    except registration.NotFound:
        return await error_page(request, 404, "no_page")


routes = [
    Route(PAGE, accounts_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}", account_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}/action", form_endpoint(act), methods=["POST"]),
]
