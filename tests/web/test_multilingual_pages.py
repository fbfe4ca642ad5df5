"""A post in several languages on the web pages (docs/MULTILINGUAL.md): the status page shows the
reader's language with a switcher of plain links (`?lang=`), each shown text carries its `lang`, and the
profile lists the post in the reader's language too."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from sqlalchemy import func, select

from outbox import actions
from outbox.actions.status_languages import VariantDraft
from storage.models import Status
from storage.status_variants import variants_of
from support.instance import RunningInstance
from support.oauth import make_user
from support.web import PASSWORD, post_form, web_login

VARIANTS = [
    VariantDraft("fy", "Goeie moarn, Ljouwert", "waar"),
    VariantDraft("en", "Good morning, Leeuwarden"),
]


def _entry_language(html: str) -> str:
    match = re.search(r'<article class="h-entry main-post" lang="([^"]+)">', html)
    assert match, html
    return match.group(1)


async def test_status_page_shows_the_readers_language_and_switches(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = await make_user(instance.ctx, "alice")
    post = await actions.post_status(
        instance.ctx,
        alice,
        text="Goedemorgen, Leeuwarden",
        spoiler_text="weer",
        language="nl",
        variants=VARIANTS,
    )
    async with instance.client() as reader:
        dutch = (await reader.get(f"/@alice/{post.id}")).text
        assert _entry_language(dutch) == "nl" and "Goedemorgen, Leeuwarden" in dutch
        assert 'aria-label="Talen van dit bericht"' in dutch
        assert f'href="{post.url}?lang=fy" hreflang="fy" lang="fy">Fries</a>' in dutch
        assert f'href="{post.url}?lang=en" hreflang="en" lang="en">Engels</a>' in dutch
        assert '<span aria-current="true" lang="nl">Nederlands</span>' in dutch

        frisian = (await reader.get(f"/@alice/{post.id}?lang=fy")).text
        assert _entry_language(frisian) == "fy" and "Goeie moarn, Ljouwert" in frisian
        assert ">waar</summary>" in frisian and "Goedemorgen" not in frisian

        english = (await reader.get(f"/@alice/{post.id}", headers={"Accept-Language": "en"})).text
        assert _entry_language(english) == "en" and "Good morning, Leeuwarden" in english
        assert '<span aria-current="true" lang="en">English</span>' in english
        assert f'href="{post.url}?lang=fy" hreflang="fy" lang="fy">Western Frisian</a>' in english

        unknown = await reader.get(f"/@alice/{post.id}?lang=%3Cscript%3E")
        assert unknown.status_code == 200 and _entry_language(unknown.text) == "nl"

        profile = (await reader.get("/@alice?lang=fy")).text
        assert "Goeie moarn, Ljouwert" in profile and 'lang="fy"' in profile


async def test_a_post_in_one_language_has_no_switcher(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = await make_user(instance.ctx, "alice")
    post = await actions.post_status(instance.ctx, alice, text="Alleen Nederlands", language="nl")
    async with instance.client() as reader:
        page = (await reader.get(f"/@alice/{post.id}?lang=fy")).text
    assert _entry_language(page) == "nl" and "Talen van dit bericht" not in page


async def test_feeds_carry_every_language(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    alice = await make_user(instance.ctx, "alice")
    await actions.post_status(
        instance.ctx,
        alice,
        text="Goedemorgen #Friesland",
        language="nl",
        variants=[
            VariantDraft("fy", "Goeie moarn #Friesland"),
            VariantDraft("en", "Good morning #Friesland"),
        ],
    )
    await actions.post_status(
        instance.ctx, alice, text="Storm", spoiler_text="weer", language="nl", variants=VARIANTS
    )
    atom_ns = "{http://www.w3.org/2005/Atom}"
    async with instance.client() as reader:
        rss = ElementTree.fromstring((await reader.get("/@alice.rss")).content)
        atom = ElementTree.fromstring((await reader.get("/tags/friesland.atom")).content)
    warned, greeting = rss.findall("./channel/item")
    description = greeting.findtext("description") or ""
    for code, text in (("nl", "Goedemorgen"), ("fy", "Goeie moarn"), ("en", "Good morning")):
        assert f'<div lang="{code}">' in description and text in description
    assert description.index('lang="nl"') < description.index('lang="fy"')
    assert warned.findtext("description") == "weer · waar"
    (entry,) = atom.findall(f"{atom_ns}entry")
    content = entry.findtext(f"{atom_ns}content") or ""
    assert all(f'<div lang="{code}">' in content for code in ("nl", "fy", "en"))


async def test_compose_form_writes_other_languages(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    async with instance.client() as browser:
        await web_login(browser, "alice", PASSWORD)
        fields = {
            "text": "Fietspad dicht",
            "language": "nl",
            "variant_language1": "fy",
            "variant_text1": "Fytspaad ticht",
            "variant_cw1": "",
            "variant_language2": "en",
            "variant_text2": "Cycle path closed",
        }
        form = await browser.get("/web/compose")
        assert (
            'name="variant_text1"' in form.text
            and "Het bericht in een andere taal 1 (optioneel)" in form.text
        )
        wrong = await post_form(
            browser,
            "/web/compose",
            "/web/compose",
            {**fields, "variant_language2": "fy", "idempotency_key": "k1"},
        )
        assert wrong.status_code == 422 and "Elke andere taal vraagt" in wrong.text
        unnamed = await post_form(
            browser,
            "/web/compose",
            "/web/compose",
            {**fields, "variant_language2": "", "idempotency_key": "k2"},
        )
        assert unnamed.status_code == 422 and "Elke andere taal vraagt" in unnamed.text
        async with instance.ctx.db.read() as session:
            assert (await session.execute(select(func.count()).select_from(Status))).scalar_one() == 0
        sent = await post_form(browser, "/web/compose", "/web/compose", {**fields, "idempotency_key": "k3"})
        assert sent.status_code == 303
    async with instance.ctx.db.read() as session:
        status = (await session.execute(select(Status))).scalar_one()
        others = (await variants_of(session, [status.id]))[status.id]
    assert status.language == "nl" and [(v.language, v.text) for v in others] == [
        ("en", "Cycle path closed"),
        ("fy", "Fytspaad ticht"),
    ]
