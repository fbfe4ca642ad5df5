"""Mastodon.py (the PyPI client) registers an app, logs in through the authorization-code flow and reads
the account, against a live in-process instance. Mastodon.py is synchronous: its calls run in a thread."""

from __future__ import annotations

import asyncio
import re

from mastodon import Mastodon

from support.instance import RunningInstance
from support.oauth import OOB, form_fields, make_user

PASSWORD = "correct horse battery staple"
SCOPES = ["read", "write", "follow", "push"]


async def test_mastodon_py_registers_logs_in_and_verifies(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    await make_user(instance.ctx, "alice", PASSWORD)
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Plein test", scopes=SCOPES, redirect_uris=OOB, api_base_url=instance.base_url
    )
    api = await asyncio.to_thread(
        Mastodon, client_id=client_id, client_secret=client_secret, api_base_url=instance.base_url
    )
    authorize_url = await asyncio.to_thread(
        api.auth_request_url, redirect_uris=OOB, scopes=SCOPES, allow_http=True
    )
    assert authorize_url.startswith(f"{instance.base_url}/oauth/authorize?")

    # A person opens the URL, logs in and approves; the out-of-band page shows the code.
    async with instance.client() as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200
        approved = await browser.post(
            "/oauth/authorize",
            data={**form_fields(page.text), "username": "alice", "password": PASSWORD, "decision": "approve"},
        )
    match = re.search(r'id="oauth-code">([^<]+)<', approved.text)
    assert match is not None, approved.text
    access_token = await asyncio.to_thread(api.log_in, code=match.group(1), scopes=SCOPES, allow_http=True)
    assert access_token

    me = await asyncio.to_thread(api.account_verify_credentials)
    assert me["username"] == "alice"
    assert me["source"]["privacy"] == "public"
    version = await asyncio.to_thread(api.retrieve_mastodon_version)
    assert version.startswith("4.3.0")
    instance_info = await asyncio.to_thread(api.instance)
    assert instance_info["configuration"]["statuses"]["max_characters"] == 500
    updated = await asyncio.to_thread(api.account_update_credentials, display_name="Alice from Mastodon.py")
    assert updated["display_name"] == "Alice from Mastodon.py"
    app_info = await asyncio.to_thread(api.app_verify_credentials)
    assert app_info["name"] == "Plein test"
