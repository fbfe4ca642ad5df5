"""`/web/admin/settings`: the instance's name, description, contact address, registration mode and message,
about text, terms of service and privacy policy, changed by an admin (moderators get 403), and its rules
(changed through `web.administration.rules`). The form shows
the values in force; saving stores those that differ over the config's (`moderation.change_instance_settings`,
audited), and each changed value can be reset to the config's. A refused value answers 422 with the form as
posted, and nothing is stored."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from storage.context import Context
from storage.instance_profile import FIELDS, configured_value, instance_profile
from storage.instance_rules import current_rules
from storage.settings import REGISTRATION_MODES
from web.moderation.common import actor_of
from web.pages import render_page
from web.staff.access import ADMIN_ROLES, posted_by_staff, see_other, staff_or_refusal

logger = logging.getLogger("plein.web")
PAGE = "/web/admin/settings"
NO_STORE = {"Cache-Control": "no-store"}


async def settings_page_answer(
    request: Request,
    *,
    status_code: int = 200,
    posted: dict[str, str] | None = None,
    error: moderation.InvalidSetting | None = None,
    rule_problem: str = "",
    rule_field: str = "",
) -> Response:
    """The page, as asked for or as the answer to a refused form (`error` for the settings, `rule_problem`
    and `rule_field` for the rules)."""
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        profile = await instance_profile(session, ctx.settings)
        rules = await current_rules(session)
    values = {field: profile.value(field) for field in FIELDS} | (posted or {})
    done = request.query_params.get("done", "") if status_code == 200 else ""
    return await render_page(
        request,
        "administration/settings.html",
        status_code,
        headers=NO_STORE,
        values=values,
        overrides=profile.overrides,
        configured={field: configured_value(ctx.settings, field) for field in profile.overrides},
        modes=REGISTRATION_MODES,
        error_field=error.field if error else "",
        error_problem=error.problem if error else "",
        rules=rules,
        rule_problem=rule_problem,
        rule_field=rule_field,
        done=done,
        done_field=request.query_params.get("field", "") if done == "reset" else "",
    )


async def settings_page(request: Request) -> Response:
    login = await staff_or_refusal(request, ADMIN_ROLES)
    return login if isinstance(login, Response) else await settings_page_answer(request)


async def save(request: Request) -> Response:
    """Store what differs from the values in force, then back to the page (Post/Redirect/Get)."""
    ctx: Context = request.state.ctx
    posted = await posted_by_staff(request, ADMIN_ROLES)
    if isinstance(posted, Response):
        return posted
    login, form = posted
    wanted = {field: form.get(field) for field in FIELDS if field in form.fields}
    cut_short = sorted(form.over_long & set(FIELDS))
    try:
        if cut_short:  # longer than the form reader keeps: refused, never stored cut
            raise moderation.InvalidSetting(cut_short[0], "too_long")
        changed = await moderation.change_instance_settings(ctx, wanted, actor=actor_of(login))
    except moderation.InvalidSetting as error:
        logger.info("instance settings of %s refused: %s", actor_of(login), error)
        return await settings_page_answer(request, status_code=422, posted=wanted, error=error)
    return see_other(f"{PAGE}?{urlencode({'done': 'saved' if changed else 'unchanged'})}")


async def reset(request: Request) -> Response:
    """Bring back the config's value of one field."""
    ctx: Context = request.state.ctx
    posted = await posted_by_staff(request, ADMIN_ROLES)
    if isinstance(posted, Response):
        return posted
    login, form = posted
    field = form.get("field")
    try:
        await moderation.reset_instance_setting(ctx, field, actor=actor_of(login))
    except moderation.InvalidSetting as error:
        logger.info("instance settings reset by %s refused: %s", actor_of(login), error)
        return await settings_page_answer(request, status_code=422, error=error)
    return see_other(f"{PAGE}?{urlencode({'done': 'reset', 'field': field})}")


routes = [
    Route(PAGE, settings_page, methods=["GET"]),
    Route(PAGE, save, methods=["POST"]),
    Route(f"{PAGE}/reset", reset, methods=["POST"]),
]
