"""The other languages of a local status (docs/MULTILINGUAL.md): checking what the author wrote and
rendering each language's text as the primary's is rendered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from apub.languages import is_known_language, same_language_key
from outbox.errors import Unprocessable, ValidationCode
from storage.context import Context
from storage.status_variants import Variant

MAX_VARIANTS = 8  # languages besides the primary: enough for a region's official ones


@dataclass(frozen=True)
class VariantDraft:
    """One more language as the author typed it."""

    language: str
    text: str
    spoiler_text: str = ""


class LanguageText(Protocol):
    """One more language's source: a draft, or a stored variant of a local status."""

    @property
    def language(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def spoiler_text(self) -> str: ...


def variants_to_maps(variants: Sequence[LanguageText]) -> dict[str, dict[str, str]]:
    """The other languages as the `status_map` / `spoiler_text_map` parameters that write them ({} for a
    status in one language): what a scheduled status keeps and what an edit takes back."""
    if not variants:
        return {}
    return {
        "status_map": {variant.language: variant.text for variant in variants},
        "spoiler_text_map": {v.language: v.spoiler_text for v in variants if v.spoiler_text},
    }


def maps_to_drafts(texts: Mapping[str, object], warnings: Mapping[str, object]) -> list[VariantDraft]:
    """`status_map` / `spoiler_text_map` (checked to be strings, or kept by a scheduled status) as drafts."""
    return [
        VariantDraft(str(language), str(text), str(warnings.get(language) or ""))
        for language, text in texts.items()
    ]


def check_variants(ctx: Context, primary_language: str | None, drafts: Sequence[VariantDraft]) -> None:
    """Each language a known ISO 639 code, distinct from the primary and from each other, with text within
    the character limit; a primary language is required to tell the variants apart."""
    if not drafts:
        return
    if primary_language is None:
        raise Unprocessable(
            "Validation failed: a status in several languages needs its primary language",
            field="language",
            code=ValidationCode.BLANK,
        )
    if len(drafts) > MAX_VARIANTS:
        raise Unprocessable(
            f"Validation failed: at most {MAX_VARIANTS} other languages",
            field="status_map",
            code=ValidationCode.TOO_LONG,
        )
    limit = ctx.settings.limits.max_status_characters
    seen = {same_language_key(primary_language)}  # `fry` is `fy` given twice
    for draft in drafts:
        field = f"status_map.{draft.language}"
        if not is_known_language(draft.language):
            raise Unprocessable(
                f"Validation failed: {draft.language!r} is not an ISO 639 language code",
                field=field,
                code=ValidationCode.INCLUSION,
            )
        if same_language_key(draft.language) in seen:
            raise Unprocessable(
                f"Validation failed: {draft.language} is given twice (or is the primary language)",
                field=field,
                code=ValidationCode.TAKEN,
            )
        seen.add(same_language_key(draft.language))
        if not draft.text.strip():
            raise Unprocessable(
                f"Validation failed: the {draft.language} text can't be blank",
                field=field,
                code=ValidationCode.BLANK,
            )
        if len(draft.text) + len(draft.spoiler_text) > limit:
            raise Unprocessable(
                f"Validation failed: Text character limit of {limit} exceeded in {draft.language}",
                field=field,
                code=ValidationCode.TOO_LONG,
            )


def combined_text(text: str, drafts: Sequence[VariantDraft]) -> str:
    """All languages' texts together: the mentions and hashtags of a status are those of all of them."""
    return "\n\n".join([text, *(draft.text for draft in drafts)])


def drafts_to_variants(drafts: Sequence[VariantDraft], rendered: Sequence[str]) -> list[Variant]:
    """The variants to store: each draft with its rendered HTML."""
    return [
        Variant(draft.language, html, draft.spoiler_text, draft.text)
        for draft, html in zip(drafts, rendered, strict=True)
    ]
