"""Message templates: every shipped text is lawful and polite, and bad catalogues are refused.

The wording checks run over every template and language of the shipped catalogue, so a
template added with a threat, a legal claim, a third party or no opt-out fails the suite.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from domain.contact.channels import INTERNAL
from domain.contact.templates import (
    CHANNELS,
    PLACEHOLDERS,
    PURPOSES,
    Template,
    TemplateCatalogue,
    TemplateError,
    load_catalogue,
    parse_catalogue,
)

CATALOGUE = load_catalogue()

REQUIRED: dict[str, tuple[str, str]] = {
    "reminder-push": ("push", "payment_reminder"),
    "reminder-sms": ("sms", "payment_reminder"),
    "reminder-email": ("email", "payment_reminder"),
    "reminder-letter": ("letter", "payment_reminder"),
    "request-sms": ("sms", "payment_request"),
    "request-email": ("email", "payment_request"),
    "request-push": ("push", "payment_request"),
    "call-script": ("call", "payment_request"),
    "account-review-brief": ("agent_review", "account_review"),
    "final-notice-letter": ("letter", "final_notice"),
    "legal-review-brief": ("legal_review", "legal_review"),
    "dispute-ack-letter": ("letter", "dispute_acknowledgement"),
    "cease-confirmation-letter": ("letter", "cease_confirmation"),
    "specialist-review-brief": ("agent_review", "specialist_review"),
    "promise-reminder-sms": ("sms", "promise_reminder"),
    "promise-reminder-email": ("email", "promise_reminder"),
    "promise-reminder-push": ("push", "promise_reminder"),
}

# What no template may say, by kind and language. English entries match whole words,
# case-insensitively (so "friendly" is not "friend", "pursue" is not "sue"); Chinese
# entries match anywhere. Internal briefs (agent_review, legal_review) may use the legal
# words, never the threats or the shaming and third-party ones.
FORBIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "legal": {
        "en": (
            "sue", "sues", "sued", "suing", "lawsuit", "lawsuits", "legal action",
            "legal proceedings", "proceedings", "court", "courts", "lawyer", "lawyers",
            "attorney", "attorneys", "bailiff", "bailiffs", "enforcement", "garnish",
            "garnishment", "seize", "seized", "seizure", "repossess", "repossession",
        ),
        "zh": ("起诉", "诉讼", "法院", "律师", "律师函", "仲裁", "强制执行", "查封", "冻结"),
    },
    "threat": {
        "en": (
            "arrest", "arrested", "jail", "prison", "police", "criminal", "crime", "warrant",
            "blacklist", "blacklisted", "final warning", "or else", "immediately or else",
            "consequences",
        ),
        "zh": (
            "逮捕", "拘留", "坐牢", "警察", "公安", "刑事", "犯罪", "黑名单", "征信黑名单",
            "后果自负", "最后警告",
        ),
    },
    "shame or third party": {
        "en": (
            "shame", "ashamed", "embarrass", "embarrassing", "humiliate", "neighbour",
            "neighbours", "neighbor", "neighbors", "employer", "employers", "workplace",
            "colleague", "colleagues", "family", "families", "friend", "friends", "relative",
            "relatives", "contacts", "publicly", "public notice",
        ),
        "zh": (
            "曝光", "公开", "通讯录", "紧急联系人", "家人", "家属", "亲友", "朋友", "同事",
            "单位", "邻居",
        ),
    },
}  # fmt: skip

# The length limit per channel, counting placeholders at their raw length.
MAX_LENGTH = {"sms": 300, "push": 200}

# Must appear in every text (not subject) of the channel, in every language.
MUST_CONTAIN = {
    "sms": {"lender_name", "opt_out"},
    "email": {"lender_name", "opt_out"},
    "push": {"lender_name"},
    "letter": {"lender_name"},
}


def forbidden_in(value: str, language: str, kinds: tuple[str, ...]) -> list[str]:
    """The forbidden words and phrases of ``kinds`` found in ``value``."""
    primary = language.partition("-")[0].lower()
    found = []
    for kind in kinds:
        assert primary in FORBIDDEN[kind], f"add a {kind!r} word table for {language!r}"
        for phrase in FORBIDDEN[kind][primary]:
            pattern = rf"\b{re.escape(phrase)}\b" if primary == "en" else re.escape(phrase)
            if re.search(pattern, value, re.IGNORECASE):
                found.append(phrase)
    return found


def shipped_texts(*fields: str) -> list[object]:
    """One case per template, field and language of the shipped catalogue."""
    return [
        pytest.param(template, language, value, id=f"{template.id}:{name}.{language}")
        for template in CATALOGUE.templates.values()
        for name in fields
        for language, value in getattr(template, name).items()
    ]


def names_in(value: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", value))


class TestShippedWording:
    @pytest.mark.parametrize(("template", "language", "value"), shipped_texts("text", "subject"))
    def test_no_text_threatens_claims_legal_action_shames_or_mentions_third_parties(
        self, template: Template, language: str, value: str
    ) -> None:
        kinds = ("threat", "shame or third party")
        if template.channel not in INTERNAL:
            kinds = ("legal", *kinds)
        assert forbidden_in(value, language, kinds) == []

    @pytest.mark.parametrize(("template", "language", "value"), shipped_texts("text"))
    def test_every_sms_email_push_and_letter_names_the_lender_and_texts_carry_an_opt_out(
        self, template: Template, language: str, value: str
    ) -> None:
        assert MUST_CONTAIN.get(template.channel, set()) <= names_in(value)

    @pytest.mark.parametrize(("template", "language", "value"), shipped_texts("text"))
    def test_sms_and_push_texts_are_short(
        self, template: Template, language: str, value: str
    ) -> None:
        assert len(value) <= MAX_LENGTH.get(template.channel, len(value))

    @pytest.mark.parametrize("language", CATALOGUE.get("final-notice-letter").languages())
    def test_the_final_notice_names_no_legal_step_at_all(self, language: str) -> None:
        template = CATALOGUE.get("final-notice-letter")
        for value in (template.text[language], template.subject[language]):
            assert not re.search(r"\b(legal|law|lawful|litigation)\b|法律|法务|诉", value, re.I)
            assert forbidden_in(value, language, tuple(FORBIDDEN)) == []

    @pytest.mark.parametrize("language", CATALOGUE.get("call-script").languages())
    def test_the_call_scripts_message_for_anyone_else_says_nothing_about_the_debt(
        self, language: str
    ) -> None:
        message = re.findall(r"“([^”]*)”", CATALOGUE.get("call-script").text[language])[-1]
        assert names_in(message) <= {"lender_name", "lender_contact"}
        words = r"\b(debt|owe|owed|overdue|arrears|payment|pay|collection|loan)\b"
        assert not re.search(rf"{words}|欠|逾期|还款|债|催收|贷款", message, re.IGNORECASE)

    def test_the_specialist_brief_carries_no_amounts_or_promises(self) -> None:
        assert CATALOGUE.get("specialist-review-brief").placeholders <= {"reference"}

    @pytest.mark.parametrize(
        "template_id",
        [t.id for t in CATALOGUE.templates.values() if t.purpose == "promise_reminder"],
    )
    def test_promise_reminders_recall_the_borrowers_own_promise(self, template_id: str) -> None:
        promise = {"promise_amount", "currency", "promise_due_date"}
        assert promise <= CATALOGUE.get(template_id).placeholders

    @pytest.mark.parametrize(
        ("text", "language", "kind", "found"),
        [
            ("We will sue you.", "en", "legal", ["sue"]),
            ("Your case goes to COURT.", "en", "legal", ["court"]),
            ("Legal action has started", "en", "legal", ["legal action"]),
            ("We may tell your Employer", "en", "shame or third party", ["employer"]),
            ("Pay immediately or else.", "en", "threat", ["or else", "immediately or else"]),
            ("A friendly courtesy: pursue the issue, contact us.", "en", "legal", []),
            ("A friendly reminder for your family-sized plan", "en", "shame or third party",
             ["family"]),
            ("a friendly reminder; contact us at {lender_contact}", "en", "shame or third party",
             []),
            ("我们将起诉您", "zh-CN", "legal", ["起诉"]),
            ("后果自负", "zh-CN", "threat", ["后果自负"]),
            ("我们会联系您的家人和同事", "zh-CN", "shame or third party", ["家人", "同事"]),
            ("温馨提示请按时还款", "zh-CN", "threat", []),
        ],
    )  # fmt: skip
    def test_the_word_check_catches_whole_words_and_chinese_substrings(
        self, text: str, language: str, kind: str, found: list[str]
    ) -> None:
        assert forbidden_in(text, language, (kind,)) == found


class TestShippedStructure:
    @pytest.mark.parametrize(
        ("template_id", "channel", "purpose"),
        [pytest.param(tid, *row, id=tid) for tid, row in REQUIRED.items()],
    )
    def test_every_required_template_exists_with_its_channel_and_purpose(
        self, template_id: str, channel: str, purpose: str
    ) -> None:
        template = CATALOGUE.get(template_id)
        assert (template.channel, template.purpose) == (channel, purpose)

    @pytest.mark.parametrize("template_id", list(CATALOGUE.templates))
    def test_every_template_is_in_english_and_simplified_chinese(self, template_id: str) -> None:
        languages = CATALOGUE.get(template_id).languages()
        assert {"en", "zh-CN"} <= set(languages)

    @pytest.mark.parametrize("template_id", list(CATALOGUE.templates))
    def test_every_language_of_a_template_uses_the_same_placeholders(
        self, template_id: str
    ) -> None:
        template = CATALOGUE.get(template_id)
        for language in template.languages():
            used = names_in(template.text[language] + template.subject.get(language, ""))
            assert used == template.placeholders
            assert used <= PLACEHOLDERS

    def test_the_shipped_catalogue_is_version_1_in_english_by_default(self) -> None:
        assert (CATALOGUE.version, CATALOGUE.default_language) == ("1", "en")

    def test_the_vocabularies_are_exactly_the_contracts(self) -> None:
        assert CHANNELS == (
            "sms", "email", "push", "call", "letter", "agent_review", "legal_review"
        )  # fmt: skip
        assert sorted(PURPOSES) == sorted({purpose for _, purpose in REQUIRED.values()})
        assert {
            "lender_name", "lender_contact", "opt_out",
            "amount_due", "currency", "days_past_due", "promise_amount", "promise_due_date",
            "reference",
        } == PLACEHOLDERS  # fmt: skip


class TestLanguageChoice:
    @pytest.mark.parametrize(
        ("wanted", "chosen"),
        [
            ("zh-CN", "zh-CN"),
            ("en", "en"),
            ("ZH-cn", "zh-CN"),
            ("EN", "en"),
            ("zh", "zh-CN"),
            ("zh-Hans-CN", "zh-CN"),
            ("zh-TW", "zh-CN"),
            ("en-GB", "en"),
            ("es-419", "en"),
            ("fr-FR", "en"),
            (None, "en"),
            ("", "en"),
            ("zh_CN", "en"),
            ("chinese", "en"),
            (" zh-CN", "en"),
        ],
    )
    def test_the_language_sent_is_the_closest_variant_the_template_has(
        self, wanted: str | None, chosen: str
    ) -> None:
        assert CATALOGUE.language_for("reminder-sms", wanted) == chosen

    @pytest.mark.parametrize(("wanted", "chosen"), [("pt", "pt-BR"), ("pt-AO", "pt-BR"),
                                                    ("PT-pt", "pt-PT"), ("de", "en")])  # fmt: skip
    def test_a_primary_language_falls_back_to_its_first_variant_in_file_order(
        self, wanted: str, chosen: str
    ) -> None:
        text = {"en": "{lender_name} {opt_out}", "pt-BR": "{lender_name} {opt_out}"}
        template = Template("hi-sms", "sms", "payment_reminder", {**text, "pt-PT": text["en"]})
        catalogue = TemplateCatalogue("1", "en", {"hi-sms": template})
        assert catalogue.language_for("hi-sms", wanted) == chosen

    def test_an_unknown_template_is_a_key_error_naming_the_known_ones(self) -> None:
        with pytest.raises(KeyError, match=r"unknown template 'reminder-fax'; .*reminder-sms"):
            CATALOGUE.language_for("reminder-fax", "en")


GOOD = """\
version = "1"
default_language = "en"

[[templates]]
id = "hello-sms"
channel = "sms"
purpose = "payment_reminder"
[templates.text]
en = "{lender_name}: {amount_due} {currency} is overdue. {opt_out}"
"zh-CN" = "【{lender_name}】{amount_due} {currency}已逾期。{opt_out}"
"""
TEMPLATE = GOOD.partition('default_language = "en"\n')[2]
SUBJECT = '[templates.subject]\nen = "{lender_name}"\n"zh-CN" = "{lender_name}"\n'


def edit(old: str, new: str, text: str = GOOD) -> str:
    assert old in text
    return text.replace(old, new, 1)


def email(subject: str = SUBJECT) -> str:
    return edit('channel = "sms"', 'channel = "email"') + subject


# One row per bad file: (case, file text, fragment the error message must contain).
# fmt: off
BAD_FILES = [
    ("not toml", "version = ", "not valid TOML"),
    ("unknown top-level key", edit('version = "1"', 'version = "1"\nverison = "2"'),
     "unknown key 'verison' in the top level; did you mean 'version'? expected one of"),
    ("unknown template key", edit('channel = "sms"', 'chanel = "sms"'),
     "template 'hello-sms': unknown key 'chanel' in templates[0]; did you mean 'channel'?"),
    ("numeric version", edit('version = "1"', "version = 1"),
     "version must be a string, got int 1"),
    ("empty version", edit('version = "1"', 'version = " "'), "version must not be empty"),
    ("missing default language", edit('default_language = "en"\n', ""),
     "missing required key default_language"),
    ("bad default language", edit('default_language = "en"', 'default_language = "english"'),
     "default_language 'english' is not a BCP 47 language tag"),
    ("templates as a single table", 'version = "1"\ndefault_language = "en"\n[templates]\n',
     "templates must be an array, got dict"),
    ("templates as plain values", 'version = "1"\ndefault_language = "en"\ntemplates = [1]\n',
     "templates[0] must be a table; write [[templates]]"),
    ("text as a string", GOOD.partition("[templates.text]")[0] + 'text = "hi"\n',
     "template 'hello-sms': templates[0].text must be a table, got str 'hi'"),
    ("numeric channel", edit('channel = "sms"', "channel = 3"),
     "template 'hello-sms': templates[0].channel must be a string, got int 3"),
    ("missing id", edit('id = "hello-sms"\n', ""), "missing required key templates[0].id"),
    ("missing purpose", edit('purpose = "payment_reminder"\n', ""),
     "template 'hello-sms': missing required key templates[0].purpose"),
    ("duplicate id", GOOD + TEMPLATE,
     "template 'hello-sms': duplicate id, already used by templates[0]"),
    ("id not lowercase", edit('id = "hello-sms"', 'id = "Hello_SMS"'),
     "template 'Hello_SMS': id must be lowercase letters, digits and hyphens"),
    ("unknown channel", edit('channel = "sms"', 'channel = "fax"'),
     "template 'hello-sms': unknown channel 'fax'; expected one of sms, email, push"),
    ("misspelt channel", edit('channel = "sms"', 'channel = "emial"'),
     "unknown channel 'emial'; did you mean 'email'?"),
    ("unknown purpose", edit('purpose = "payment_reminder"', 'purpose = "collect"'),
     "template 'hello-sms': unknown purpose 'collect'"),
    ("unknown placeholder", edit("{amount_due} {currency} is", "{amount} {currency} is"),
     "template 'hello-sms': text.en: unknown placeholder {amount}; did you mean {amount_due}?"),
    ("positional placeholder", edit("{amount_due} {currency} is", "{} is"),
     "text.en: unknown placeholder {}"),
    ("format spec", edit("{amount_due} {currency} is", "{amount_due:>10} {currency} is"),
     "text.en: {amount_due:>10} has a format spec or conversion"),
    ("conversion", edit("{amount_due} {currency} is", "{amount_due!r} {currency} is"),
     "text.en: {amount_due!r} has a format spec or conversion"),
    ("unclosed brace", edit("{amount_due} {currency} is", "{amount_due {currency} is"),
     "template 'hello-sms': text.en: unbalanced brace"),
    ("stray closing brace", edit("{amount_due} {currency} is", "amount_due} {currency} is"),
     "text.en: unbalanced brace"),
    ("doubled braces", edit("{amount_due} {currency} is", "{{amount_due}} {currency} is"),
     "text.en: unbalanced brace"),
    ("missing en", edit('en = "{lender_name}: {amount_due} {currency} is overdue. {opt_out}"\n',
                        ""),
     "template 'hello-sms': no text in the default language 'en'"),
    ("underscore language tag", edit('"zh-CN" =', '"zh_CN" ='),
     "template 'hello-sms': text: 'zh_CN' is not a BCP 47 language tag"),
    ("word for a language tag", edit('"zh-CN" =', "chinese ="),
     "text: 'chinese' is not a BCP 47 language tag"),
    ("a language twice", GOOD + 'EN = "{lender_name} {amount_due} {currency} {opt_out}"\n',
     "template 'hello-sms': text: language 'EN' appears twice (as 'en')"),
    ("empty text", GOOD.partition('"zh-CN"')[0] + '"zh-CN" = " "\n',
     "template 'hello-sms': text.zh-CN must not be empty"),
    ("numeric text", GOOD.partition('"zh-CN"')[0] + '"zh-CN" = 5\n',
     "template 'hello-sms': text.zh-CN must be a string, got int"),
    ("languages with different placeholders", edit("{amount_due} {currency}已", "{amount_due}已"),
     "template 'hello-sms': languages use different placeholders: en has {amount_due}, "
     "{currency}, {lender_name}, {opt_out}; zh-CN has {amount_due}, {lender_name}, {opt_out}"),
    ("sms without an opt-out", edit(" {opt_out}", ""),
     "template 'hello-sms': text.en must contain {opt_out}"),
    ("letter without the lender", edit("{lender_name}: ", "", edit('"sms"', '"letter"')),
     "template 'hello-sms': text.en must contain {lender_name}"),
    ("email without a subject", email(""),
     "template 'hello-sms': email templates need a subject in every language"),
    ("subject on an sms", GOOD + SUBJECT,
     "template 'hello-sms': only email and letter templates have a subject"),
    ("subject in fewer languages", email(SUBJECT.partition('"zh-CN"')[0]),
     "template 'hello-sms': subject languages en differ from text languages en, zh-CN"),
    ("unknown placeholder in a subject", email(SUBJECT.replace("{lender_name}", "{name}", 1)),
     "template 'hello-sms': subject.en: unknown placeholder {name}"),
]
# fmt: on


class TestLoading:
    @pytest.mark.parametrize(
        ("text", "fragment"),
        [pytest.param(text, fragment, id=case) for case, text, fragment in BAD_FILES],
    )
    def test_a_bad_catalogue_is_refused_naming_the_file_the_template_and_the_field(
        self, tmp_path: Path, text: str, fragment: str
    ) -> None:
        path = tmp_path / "catalogue.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(TemplateError) as refused:
            load_catalogue(str(path))
        message = str(refused.value)
        assert message.startswith(f"{path}: ")
        assert fragment in message

    def test_a_good_catalogue_loads_from_a_path_with_its_placeholders(self, tmp_path: Path) -> None:
        path = tmp_path / "catalogue.toml"
        path.write_text(email(), encoding="utf-8")
        template = load_catalogue(str(path)).get("hello-sms")
        assert (template.channel, template.languages()) == ("email", ("en", "zh-CN"))
        assert template.placeholders == {"lender_name", "amount_due", "currency", "opt_out"}
        assert template.subject["zh-CN"] == "{lender_name}"

    def test_a_missing_file_is_reported_with_its_path(self, tmp_path: Path) -> None:
        missing = str(tmp_path / "nope.toml")
        with pytest.raises(TemplateError, match=rf"^{re.escape(missing)}: cannot read template"):
            load_catalogue(missing)

    def test_errors_from_a_string_name_the_default_source(self) -> None:
        with pytest.raises(TemplateError, match=r"^<string>: not valid TOML"):
            parse_catalogue("version = ")

    def test_a_template_built_in_code_is_validated_too(self) -> None:
        with pytest.raises(TemplateError, match=r"template 'x': unknown channel 'fax'"):
            Template("x", "fax", "payment_reminder", {"en": "hi"})

    def test_a_loaded_catalogue_cannot_be_changed(self) -> None:
        template = CATALOGUE.get("reminder-sms")
        with pytest.raises(TypeError):
            template.text["en"] = "Pay now."  # type: ignore[index]
        with pytest.raises(TypeError):
            CATALOGUE.templates["reminder-sms"] = template  # type: ignore[index]
        with pytest.raises(dataclasses.FrozenInstanceError):
            template.channel = "email"  # type: ignore[misc]
