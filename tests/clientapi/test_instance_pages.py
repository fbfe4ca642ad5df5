"""The instance's rules, texts, moderated domains, activity and languages: through Mastodon.py and plain
HTTP against a live in-process instance, the web pages, reports citing rules, and the `plein rule` CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from checked import call
from mastodon import Mastodon
from sqlalchemy import select

import moderation
from storage.models import Account, Report
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, run_plein, serve_in_process, write_config
from support.oauth import bearer, make_token
from support.openapi import validate_entity

ABOUT = "# Who we are\n\nThe ministry's own server. <script>alert(1)</script>\n\n[mail us](mailto:a@b.nl)"
PRIVACY = "We keep **as little as we can**. [tracker](javascript:alert(1))"
TERMS = "Be civil."


@pytest.fixture
async def texts_instance(tmp_path: Path) -> AsyncIterator[RunningInstance]:
    """An instance with every text written, domain blocks shown to users and their reasons to everyone."""
    files = {}
    for name, text in (("about", ABOUT), ("privacy", PRIVACY), ("terms", TERMS)):
        files[name] = tmp_path / f"{name}.md"
        files[name].write_text(text)
    settings = make_settings(
        tmp_path,
        database_url=sqlite_url(str(tmp_path)),
        **{
            "instance.about_file": str(files["about"]),
            "instance.privacy_policy_file": str(files["privacy"]),
            "instance.terms_of_service_file": str(files["terms"]),
            "instance.terms_of_service_date": "2026-01-01",
            "instance.languages": ["nl", "fy", "en", "nds"],
            "instance.show_domain_blocks": "users",
            "instance.show_domain_block_reasons": "all",
        },
    )
    async with serve_in_process(settings) as running:
        yield running


async def test_rules_and_texts_through_mastodon_py(texts_instance: RunningInstance) -> None:
    instance = texts_instance
    assert instance.ctx is not None
    first = await moderation.add_rule(instance.ctx, "Be kind", hint="No insults.", actor="test")
    second = await moderation.add_rule(instance.ctx, "No spam", actor="test")
    removed = await moderation.add_rule(instance.ctx, "An old rule", actor="test")
    await moderation.remove_rule(instance.ctx, removed.id, actor="test")
    client = Mastodon(api_base_url=instance.base_url)

    rules = await asyncio.to_thread(client.instance_rules)
    assert [(rule.id, rule.text, rule.hint) for rule in rules] == [
        (str(first.id), "Be kind", "No insults."),
        (str(second.id), "No spam", ""),
    ]
    about = await asyncio.to_thread(client.instance_extended_description)
    assert "<h1>Who we are</h1>" in about.content
    assert "<script>" not in about.content and "&lt;script&gt;" in about.content  # raw HTML stays text
    terms = await asyncio.to_thread(client.instance_terms_of_service)
    assert terms.content == "<p>Be civil.</p>\n" and terms.effective is True
    assert str(terms.effective_date).startswith("2026-01-01")
    languages = await asyncio.to_thread(client.instance_languages)
    listed = [dict(language) for language in languages]
    assert {"code": "fy", "name": "Western Frisian"} in listed
    assert {"code": "nds", "name": "Low German"} in listed  # an instance language with a 639-3 code only
    assert not any(language["code"] in ("pap", "fry") for language in listed)

    async with instance.client() as http:
        for path in ("/api/v1/instance/rules", "/api/v1/instance/extended_description"):
            await call(http, "GET", path)
        policy = await call(http, "GET", "/api/v1/instance/privacy_policy")
        assert "<strong>as little as we can</strong>" in policy["content"]
        assert 'href="javascript' not in policy["content"]  # the link is refused, left as text
        assert (await call(http, "GET", "/api/v1/instance/terms_of_service/2026-01-01"))["content"]
        other_day = await http.get("/api/v1/instance/terms_of_service/2025-01-01")
        assert other_day.status_code == 404 and other_day.json() == {"error": "Record not found"}
        v2 = await call(http, "GET", "/api/v2/instance")
        v1 = await call(http, "GET", "/api/v1/instance")
    validate_entity("Instance", v2, all_properties=True, ignore=("wrapstodon",))
    assert (
        [rule["text"] for rule in v2["rules"]] == ["Be kind", "No spam"] == [r["text"] for r in v1["rules"]]
    )
    assert v2["languages"] == ["nl", "fy", "en", "nds"] == v1["languages"]
    assert v2["configuration"]["urls"]["privacy_policy"] == f"{instance.base_url}/privacy-policy"
    assert v2["configuration"]["urls"]["terms_of_service"] == f"{instance.base_url}/terms-of-service"


async def test_texts_not_written_answer_like_mastodon(instance: RunningInstance) -> None:
    async with instance.client() as http:
        about = await call(http, "GET", "/api/v1/instance/extended_description")
        assert about["content"] == ""
        for path in ("/api/v1/instance/privacy_policy", "/api/v1/instance/terms_of_service"):
            missing = await http.get(path)
            assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
        blocks = await http.get("/api/v1/instance/domain_blocks")  # not published by default
        assert blocks.status_code == 404
        for path in ("/privacy-policy", "/terms-of-service"):
            assert (await http.get(path)).status_code == 404
        v2 = await call(http, "GET", "/api/v2/instance")
    assert v2["configuration"]["urls"]["privacy_policy"] is None


async def test_web_about_page_shows_rules_text_and_contact(texts_instance: RunningInstance) -> None:
    instance = texts_instance
    assert instance.ctx is not None
    await moderation.add_rule(instance.ctx, "Stay <on> topic", actor="test")
    async with instance.client() as http:
        about = await http.get("/about")
        policy = await http.get("/privacy-policy")
        terms = await http.get("/terms-of-service")
    assert about.status_code == 200 and about.headers["content-type"].startswith("text/html")
    assert "Stay &lt;on&gt; topic" in about.text and "<h1>Who we are</h1>" in about.text
    assert 'href="/privacy-policy"' in about.text and 'href="/terms-of-service"' in about.text
    assert "<script>alert" not in about.text
    assert "<strong>as little as we can</strong>" in policy.text
    assert "Be civil." in terms.text


async def test_domain_blocks_shown_to_the_audience_chosen(texts_instance: RunningInstance) -> None:
    instance = texts_instance
    assert instance.ctx is not None
    await moderation.block_domain(
        instance.ctx, "spam.example", severity="suspend", public_comment="spam", actor="t"
    )
    await moderation.block_domain(instance.ctx, "loud.example", severity="silence", actor="t")
    token = await make_token(instance.ctx, "alice")
    async with instance.client() as http:
        anonymous = await http.get("/api/v1/instance/domain_blocks")
        assert anonymous.status_code == 404  # shown to signed-in users only
        blocks = await call(http, "GET", "/api/v1/instance/domain_blocks", headers=bearer(token))
    client = Mastodon(api_base_url=instance.base_url, access_token=token)
    through_client = await asyncio.to_thread(client.instance_domain_blocks)
    assert [block.domain for block in through_client] == ["loud.example", "spam.example"]
    by_domain = {block["domain"]: block for block in blocks}
    assert by_domain["spam.example"]["severity"] == "suspend"
    assert by_domain["spam.example"]["comment"] == "spam"  # reasons are shown to all
    assert by_domain["loud.example"]["comment"] is None
    assert len(by_domain["spam.example"]["digest"]) == 64


async def test_activity_counts_this_weeks_posts_logins_and_sign_ups(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client() as http:
        for text in ("one", "two"):
            await call(http, "POST", "/api/v1/statuses", headers=bearer(token), json={"status": text})
        weeks = await call(http, "GET", "/api/v1/instance/activity")
    assert len(weeks) == 12
    this_week = weeks[0]
    assert (this_week["statuses"], this_week["logins"], this_week["registrations"]) == ("2", "1", "1")
    monday = datetime.fromtimestamp(int(this_week["week"]), UTC)
    assert monday.weekday() == 0 and (monday.hour, monday.minute) == (0, 0)
    assert int(weeks[1]["week"]) == int(this_week["week"]) - 7 * 86400
    assert all(week["statuses"] == "0" for week in weeks[1:])


async def test_reports_cite_rules_in_force(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    rule = await moderation.add_rule(instance.ctx, "Be kind", actor="test")
    gone = await moderation.add_rule(instance.ctx, "Gone", actor="test")
    await moderation.remove_rule(instance.ctx, gone.id, actor="test")
    token = await make_token(instance.ctx, "alice")
    await make_token(instance.ctx, "bob")
    async with instance.ctx.db.read() as session:
        bob = (await session.execute(select(Account).where(Account.username == "bob"))).scalar_one()

    async def report(**values: Any) -> Any:
        async with instance.client() as http:
            return await http.post(
                "/api/v1/reports", headers=bearer(token), json={"account_id": str(bob.id), **values}
            )

    for refused in (
        {"rule_ids": [str(gone.id)]},
        {"rule_ids": ["999999"]},
        {"rule_ids": ["x"]},
        {"category": "violation"},
    ):
        answer = await report(**refused)
        assert answer.status_code == 422, refused
        assert "error" in answer.json()
    async with instance.ctx.db.read() as session:
        assert (await session.execute(select(Report))).first() is None
    filed = await report(rule_ids=[str(rule.id)], category="other", comment="rude")
    assert filed.status_code == 200, filed.text
    validate_entity("Report", filed.json())
    assert filed.json()["category"] == "violation" and filed.json()["rule_ids"] == [str(rule.id)]


def test_rule_cli_and_text_files_relative_to_the_config(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "about.md").write_text("Hello")
    config = write_config(folder, 'about_file = "about.md"\n')
    assert run_plein(config, "migrate").returncode == 0
    added = run_plein(config, "rule", "add", "Be kind", "--hint", "No insults")
    assert added.returncode == 0, added.stderr
    rule_id = added.stdout.split()[1]
    listed = run_plein(config, "rule", "list")
    assert listed.stdout == f"{rule_id}\tBe kind\tNo insults\n"
    assert run_plein(config, "rule", "remove", rule_id).returncode == 0
    again = run_plein(config, "rule", "remove", rule_id)
    assert again.returncode == 2 and f"no rule {rule_id} in force" in again.stderr
    assert run_plein(config, "rule", "list").stdout == ""
    audit = run_plein(config, "audit", "list")
    assert "rule.add" in audit.stdout and "rule.remove" in audit.stdout
    (folder / "about.md").unlink()  # a named file that is gone is a config error, said at once
    missing = run_plein(config, "rule", "list")
    assert missing.returncode == 2 and "instance.about_file" in missing.stderr
