"""Texts a notice shows lack a language a controller publishes in.

Each text is needed in the languages of the controllers whose notice shows it: a purpose's in its
controllers' languages, a system's or retention rule's in the languages of the controllers whose
purposes use it, the notice's own texts in every controller's. Without the translation the notice
cannot be rendered fully in that language.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.rules.processor_without_dpa import controllers_using
from dataright.declarations.loader import PathT, format_path
from dataright.declarations.schema import Declaration, Purpose, Text


def localized_texts(value: Any, path: PathT = ()) -> Iterator[tuple[PathT, dict[str, str]]]:
    """Every localised text (a language → text mapping) inside a model, with its path. A name given as a language
    map counts too; a plain string (a proper name, the same in every language) does not."""
    if isinstance(value, Text):
        if value.translations:
            yield path, value.translations
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from localized_texts(getattr(value, name), (*path, name))
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from localized_texts(item, (*path, i))
    elif isinstance(value, dict):
        yield path, value


class TextMissingLanguage(Rule):
    id = "text-missing-language"
    severity = Severity.warning
    reference = "GDPR Art. 12(1); PDPA s. 20"
    summary = "Every text a notice shows exists in each language its controllers publish in."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for path, label, owner, controllers in self._owners(declaration):
            languages = {lang for c in controllers for lang in declaration.controller_by_id[c].languages}
            missing: dict[str, list[str]] = {}
            first: PathT | None = None
            for sub, text in localized_texts(owner):
                lacking = sorted(languages - set(text))
                if lacking:
                    first = first or (*path, *sub)
                    for lang in lacking:
                        missing.setdefault(lang, []).append(format_path(sub))
            if first is None:
                continue
            detail = "; ".join(f"no {lang!r} in {', '.join(fields)}" for lang, fields in sorted(missing.items()))
            publishers = ", ".join(
                c for c in controllers if set(missing) & set(declaration.controller_by_id[c].languages)
            )
            yield self.finding(first, f"{label}: {detail} (published by {publishers})")

    @staticmethod
    def _owners(declaration: Declaration) -> Iterator[tuple[PathT, str, BaseModel, tuple[str, ...]]]:
        """(path, label, object, controllers whose notice shows it) for each object holding texts."""
        everyone = tuple(c.id for c in declaration.controllers)

        def using(test: Iterable[Purpose]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(c for p in test for c in p.controllers))

        purposes = declaration.purposes
        for i, p in enumerate(purposes):
            yield ("purposes", i), f"purpose {p.id!r}", p, p.controllers
        for i, s in enumerate(declaration.data_subjects):
            yield (
                ("data_subjects", i),
                f"data subject {s.id!r}",
                s,
                using(p for p in purposes if s.id in p.data_subjects),
            )
        for i, cat in enumerate(declaration.data_categories):
            users = using(p for p in purposes if cat.id in p.data_categories)
            yield ("data_categories", i), f"data category {cat.id!r}", cat, users
        for i, sys in enumerate(declaration.systems):
            referenced = any(sys.id in p.recipients or any(s.system == sys.id for s in p.sources) for p in purposes)
            users = controllers_using(declaration, sys.id)
            if referenced or any(k.system == sys.id for k in declaration.cookies):
                yield ("systems", i), f"system {sys.id!r}", sys, users
        for i, r in enumerate(declaration.recipients):
            yield ("recipients", i), f"recipient {r.id!r}", r, using(p for p in purposes if r.id in p.recipients)
        for i, rule in enumerate(declaration.retention_rules):
            users = using(p for p in purposes if rule.id in p.retention_ids)
            yield ("retention_rules", i), f"retention rule {rule.id!r}", rule, users
        for i, hold in enumerate(declaration.legal_holds):
            users = using(p for p in purposes if hold.id in p.legal_holds)
            yield ("legal_holds", i), f"legal hold {hold.id!r}", hold, users
        for i, cookie in enumerate(declaration.cookies):
            yield ("cookies", i), f"cookie {cookie.name!r}", cookie, cookie.controllers or everyone
        for i, topic in enumerate(declaration.communication_topics):
            yield ("communication_topics", i), f"communication topic {topic.id!r}", topic, topic.controllers or everyone
        for i, a in enumerate(declaration.joint_arrangements):
            yield ("joint_arrangements", i), f"joint arrangement {a.id!r}", a, a.controllers
        for i, g in enumerate(declaration.groups):
            yield ("groups", i), f"group {g.id!r}", g, g.members
        for i, c in enumerate(declaration.controllers):
            yield ("controllers", i), f"controller {c.id!r}", c, (c.id,)
        shared_rights = tuple(c.id for c in declaration.controllers if c.rights is None)
        yield ("rights",), "rights", declaration.rights, shared_rights
        yield ("notice",), "notice", declaration.notice, everyone
