"""Message templates: the texts the contact systems send, as data, and the language to send.

An instruction to contact a borrower names a template id and a language; the contact
system renders that template's text, filling ``{name}`` placeholders. The texts live in
``domain/contact/templates/catalogue.toml`` and are validated in full when loaded: unknown
keys, placeholders outside :data:`PLACEHOLDERS`, format specs, stray braces, bad language
tags, languages with different placeholder sets, and texts or emails without an opt-out
(12 CFR 1006.6(e)) all fail at start-up with the file and the template in the message.

>>> catalogue = load_catalogue()
>>> sms = catalogue.get("reminder-sms")
>>> sms.channel, sms.purpose, sms.languages()
('sms', 'payment_reminder', ('en', 'zh-CN'))
>>> [catalogue.language_for("reminder-sms", tag) for tag in ("ZH-cn", "zh-Hans-CN", "fr", None)]
['zh-CN', 'zh-CN', 'en', 'en']
>>> bad = 'version = "1"\\ndefault_language = "en"\\n[[templates]]\\nid = "x"\\nchanel = "sms"'
>>> parse_catalogue(bad, "inline.toml")
Traceback (most recent call last):
...
domain.contact.templates.TemplateError: inline.toml: template 'x': unknown key 'chanel' in \
templates[0]; did you mean 'channel'? expected one of id, channel, purpose, text, subject
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

from domain.contact.channels import CHANNELS, PURPOSES
from domain.toml_tables import check_table

LENDER_PLACEHOLDERS = frozenset({"lender_name", "lender_contact", "opt_out"})
"""Filled by the contact system from its own configuration."""
BORROWER_PLACEHOLDERS = frozenset(
    {"amount_due", "currency", "days_past_due", "promise_amount", "promise_due_date", "reference"}
)
"""Filled from the ``variables`` the engine sends with each contact action."""
PLACEHOLDERS = LENDER_PLACEHOLDERS | BORROWER_PLACEHOLDERS
_NAMED, _OPT_OUT = frozenset({"lender_name"}), frozenset({"lender_name", "opt_out"})
REQUIRED_PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"sms": _OPT_OUT, "email": _OPT_OUT, "push": _NAMED, "letter": _NAMED}
)
"""What every text (not subject) of a channel must contain: who is writing, and for
emails and texts the opt-out the law requires."""
SUBJECT_CHANNELS = frozenset({"email", "letter"})

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# BCP 47 language[-Script][-REGION]: en, zh-CN, zh-Hans-CN, es-419.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?")
_FIELD = re.compile(r"\{([^{}]*)\}")
_TOP_KEYS: dict[str, type] = {"version": str, "default_language": str, "templates": list}
_TEMPLATE_KEYS: dict[str, type] = {
    "id": str, "channel": str, "purpose": str, "text": dict, "subject": dict
}  # fmt: skip
_REQUIRED = ("id", "channel", "purpose", "text")


class TemplateError(ValueError):
    """Raised when the template catalogue is missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Template:
    """One message in every language it is written in; validates itself when built."""

    id: str
    channel: str
    purpose: str
    text: Mapping[str, str]
    """Language tag -> text, in file order; read-only once built."""
    subject: Mapping[str, str] = field(default_factory=dict)
    """Language tag -> subject line (email, optionally letter); empty when none."""
    placeholders: frozenset[str] = field(init=False)
    """The names every language of the text and subject uses."""

    def __post_init__(self) -> None:
        where = f"template {self.id!r}"
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise TemplateError(f"{where}: id must be lowercase letters, digits and hyphens")
        _one_of(self.channel, CHANNELS, f"{where}: unknown channel")
        _one_of(self.purpose, PURPOSES, f"{where}: unknown purpose")
        text = _languages(self.text, f"{where}: text")
        subject = _languages(self.subject, f"{where}: subject") if self.subject else {}
        if self.channel == "email" and not subject:
            raise TemplateError(f"{where}: email templates need a subject in every language")
        if subject and self.channel not in SUBJECT_CHANNELS:
            raise TemplateError(f"{where}: only email and letter templates have a subject")
        if subject and set(subject) != set(text):
            raise TemplateError(
                f"{where}: subject languages {', '.join(subject)} differ from text languages "
                f"{', '.join(text)}"
            )
        object.__setattr__(self, "text", MappingProxyType(text))
        object.__setattr__(self, "subject", MappingProxyType(subject))
        object.__setattr__(self, "placeholders", self._check_placeholders(where))

    def _check_placeholders(self, where: str) -> frozenset[str]:
        used: dict[str, frozenset[str]] = {}
        for tag, value in self.text.items():
            names = _placeholders(value, f"{where}: text.{tag}")
            if missing := REQUIRED_PLACEHOLDERS.get(self.channel, frozenset()) - names:
                raise TemplateError(
                    f"{where}: text.{tag} must contain {_braced(missing)}: every {self.channel} "
                    "names the lender, and texts and emails carry an opt-out (12 CFR 1006.6(e))"
                )
            subject = self.subject.get(tag, "")
            used[tag] = names | _placeholders(subject, f"{where}: subject.{tag}")
        first, *others = used
        for tag in others:
            if used[tag] != used[first]:
                raise TemplateError(
                    f"{where}: languages use different placeholders: {first} has "
                    f"{_braced(used[first])}; {tag} has {_braced(used[tag])}"
                )
        return used[first]

    def languages(self) -> tuple[str, ...]:
        """The language tags this template is written in, in file order."""
        return tuple(self.text)


@dataclass(frozen=True, slots=True)
class TemplateCatalogue:
    """Every template by id; each one has a text in ``default_language``."""

    version: str
    default_language: str
    templates: Mapping[str, Template]

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise TemplateError("version must not be empty")
        if not LANGUAGE_TAG.fullmatch(self.default_language):
            raise TemplateError(
                f"default_language {self.default_language!r} is not a BCP 47 language tag "
                "such as 'en' or 'zh-CN'"
            )
        for key, template in self.templates.items():
            if key != template.id:
                raise TemplateError(f"template {template.id!r} is filed under {key!r}")
            if self.default_language not in template.text:
                raise TemplateError(
                    f"template {key!r}: no text in the default language {self.default_language!r}"
                )
        object.__setattr__(self, "templates", MappingProxyType(dict(self.templates)))

    def get(self, template_id: str) -> Template:
        """The template ``template_id``; :class:`KeyError` naming the known ids if none."""
        if template_id not in self.templates:
            known = ", ".join(self.templates)
            raise KeyError(f"unknown template {template_id!r}; the catalogue has: {known}")
        return self.templates[template_id]

    def language_for(self, template_id: str, wanted: str | None) -> str:
        """The language variant to send: `wanted` if the template has it (BCP 47 tags compared
        case-insensitively, returning the catalogue's spelling), else the first variant with the
        same primary language subtag (wanted 'zh-Hans-CN' or 'zh' -> 'zh-CN'; 'en-GB' -> 'en'),
        else default_language. None or an invalid tag -> default_language."""
        tags = self.get(template_id).text
        if wanted is None or not LANGUAGE_TAG.fullmatch(wanted):
            return self.default_language
        folded = wanted.casefold()
        primary = folded.partition("-")[0]
        exact = [tag for tag in tags if tag.casefold() == folded]
        near = [tag for tag in tags if tag.casefold().partition("-")[0] == primary]
        return (exact or near or [self.default_language])[0]


def _one_of(value: object, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise TemplateError(f"{what} {value!r}; {hint}expected one of {', '.join(allowed)}")


def _languages(table: object, where: str) -> dict[str, str]:
    if not isinstance(table, Mapping) or not table:
        raise TemplateError(f"{where} must be a table of language tag = text, one or more")
    seen: dict[str, str] = {}
    for tag, value in table.items():
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            raise TemplateError(
                f"{where}: {tag!r} is not a BCP 47 language tag such as 'en' or 'zh-CN'"
            )
        if tag.casefold() in seen:
            raise TemplateError(
                f"{where}: language {tag!r} appears twice (as {seen[tag.casefold()]!r})"
            )
        if not isinstance(value, str):
            raise TemplateError(f"{where}.{tag} must be a string, got {type(value).__name__}")
        if not value.strip():
            raise TemplateError(f"{where}.{tag} must not be empty")
        seen[tag.casefold()] = tag
    return {tag: table[tag] for tag in seen.values()}


def _placeholders(value: str, where: str) -> frozenset[str]:
    names = set()
    for match in _FIELD.finditer(value):
        name = match[1]
        if ":" in name or "!" in name:
            raise TemplateError(
                f"{where}: {match[0]} has a format spec or conversion; write a bare {{name}}"
            )
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            hint = f"did you mean {{{close[0]}}}? " if close else ""
            raise TemplateError(
                f"{where}: unknown placeholder {match[0]}; {hint}allowed: {_braced(PLACEHOLDERS)}"
            )
        names.add(name)
    if set("{}") & set(_FIELD.sub("", value)):
        raise TemplateError(f"{where}: unbalanced brace; braces are only for {{name}} placeholders")
    return frozenset(names)


def _braced(names: frozenset[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names)) or "none"


def parse_catalogue(text: str, source: str = "<string>") -> TemplateCatalogue:
    """Build the catalogue from TOML text; every error message starts with ``source``."""
    try:
        data = tomllib.loads(text)
        check_table(data, _TOP_KEYS, tuple(_TOP_KEYS), "", TemplateError)
        templates: dict[str, Template] = {}
        index_of: dict[str, int] = {}
        for index, table in enumerate(data["templates"]):
            if not isinstance(table, dict):
                raise TemplateError(f"templates[{index}] must be a table; write [[templates]]")
            tid = table.get("id")
            label = f"template {tid!r}: " if isinstance(tid, str) else ""
            try:
                check_table(table, _TEMPLATE_KEYS, _REQUIRED, f"templates[{index}]", TemplateError)
            except TemplateError as exc:
                raise TemplateError(f"{label}{exc}") from None
            if tid in index_of:
                raise TemplateError(
                    f"{label}duplicate id, already used by templates[{index_of[tid]}]"
                )
            index_of[tid] = index
            templates[tid] = Template(
                tid, table["channel"], table["purpose"], table["text"], table.get("subject", {})
            )
        return TemplateCatalogue(data["version"], data["default_language"], templates)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{source}: not valid TOML: {exc}") from exc
    except TemplateError as exc:
        raise TemplateError(f"{source}: {exc}") from None


def load_catalogue(path: str | None = None) -> TemplateCatalogue:
    """Load the catalogue at ``path``, or the shipped one when ``path`` is ``None``."""
    if path is None:
        resource = files("domain") / "contact" / "templates" / "catalogue.toml"
        return parse_catalogue(
            resource.read_text(encoding="utf-8"), "domain/contact/templates/catalogue.toml"
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read template catalogue: {exc.strerror}") from exc
    return parse_catalogue(text, path)
