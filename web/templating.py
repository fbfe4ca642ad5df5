"""The Jinja2 environments of the server-rendered pages, one per language (autoescaping on; remote HTML is
sanitised before it is stored, so `| safe` is only used on stored, sanitised content), and `Pages`, which
renders a page for one request: in the viewer's language, with who is signed in and the forms' CSRF token.

`Pages` is built in the lifespan and handed to routes as `request.state.pages`; the OAuth consent page of
`clientapi` renders through it too, without importing `web`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from login.sessions import form_token, session_of, set_csrf_cookie
from storage.context import Context
from storage.instance_profile import read_instance_profile
from web.emojis import emojify
from web.i18n import LANGUAGES, choose_language, language_name, load_translations

TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_environment(language: str) -> Environment:
    """A template environment speaking `language`."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Whitespace inside {% trans %} is collapsed, as `make messages` extracts it (babel.cfg: trimmed).
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_translations(load_translations(language), newstyle=True)  # type: ignore[attr-defined]
    environment.filters["emojify"] = emojify
    environment.filters["language_name"] = partial(language_name, page_language=language)
    return environment


class Pages:
    """Renders the HTML pages of one instance."""

    def __init__(self, environments: Mapping[str, Environment]) -> None:
        self.environments = environments

    @classmethod
    def load(cls) -> Pages:
        return cls({language: make_environment(language) for language in LANGUAGES})

    async def language_of(self, request: Request) -> str:
        ctx: Context = request.state.ctx
        login = await session_of(request)  # a restricted session's pages speak its language too
        return choose_language(
            login.user.locale if login else None,
            request.headers.get("accept-language", ""),
            ctx.settings.instance.default_language,
        )

    async def respond(
        self,
        request: Request,
        template: str,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        form: bool = False,
        **values: object,
    ) -> HTMLResponse:
        """The page `template` for this request. A page with a form for visitors who are not signed in
        passes `form=True` (signed-in pages always carry the token: the navigation's log-out form)."""
        ctx: Context = request.state.ctx
        # A restricted session's pages show it as signed in, with its own short navigation (base.html).
        login = await session_of(request)
        language = await self.language_of(request)
        token = await form_token(request) if (form or login is not None) else None
        html = (
            self.environments[language]
            .get_template(template)
            .render(
                instance_name=(await read_instance_profile(ctx)).name,
                domain=ctx.domain,
                lang=language,
                viewer=login,
                csrf_token=token.token if token else "",
                current_path=request.url.path,
                **values,
            )
        )
        response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
        response.headers["Content-Language"] = language
        response.headers.setdefault("Vary", "Accept-Language, Cookie")
        if token is not None:
            set_csrf_cookie(ctx, response, token)
        if login is not None:
            # Pages of a signed-in viewer are theirs alone.
            response.headers["Cache-Control"] = "private, no-store"
        return response
