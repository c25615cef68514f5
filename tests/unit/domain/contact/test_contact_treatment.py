"""Treatments as policy data, and the jurisdiction profiles: what loads, what is refused,
and a contract test over every shipped policy and profile."""

from __future__ import annotations

import pytest

from domain.contact.channels import COLLECTION, PERSON_REACHING
from domain.contact.profile import ProfileError, load_profile, parse_profile, shipped_profiles
from domain.contact.templates import load_catalogue
from domain.contact.treatment import Step, TreatmentError, check_templates
from domain.errors import PolicyError
from domain.policy import load_policy, parse_policy, shipped_policies
from tests.unit.domain.test_policy import GOOD

CATALOGUE = load_catalogue()


@pytest.mark.parametrize("name", shipped_policies())
class TestEveryShippedPolicy:
    def test_every_tier_above_current_has_steps_and_current_has_none(self, name: str) -> None:
        policy = load_policy(name)
        assert policy.contact is not None
        assert [bool(tier.steps) for tier in policy.tiers] == [False] + [True] * (
            len(policy.tiers) - 1
        )

    def test_every_step_names_a_template_of_its_channel_and_purpose(self, name: str) -> None:
        check_templates(load_policy(name).all_steps(), CATALOGUE)

    def test_the_legal_tier_starts_with_a_final_notice_and_ends_with_a_legal_review(
        self, name: str
    ) -> None:
        legal = load_policy(name).steps(4)
        assert (legal[0].channel, legal[0].purpose, legal[0].day) == ("letter", "final_notice", 0)
        assert legal[-1].channel == "legal_review"

    def test_steps_pursue_payment(self, name: str) -> None:
        assert all(step.purpose in COLLECTION for _, step in load_policy(name).all_steps())


def test_the_risk_adjusted_reminder_tier_uses_gentle_channels_only() -> None:
    reminder = load_policy("risk-adjusted").steps(1)
    assert {channel for step in reminder for channel, _ in step.options()} <= {
        "push",
        "sms",
        "email",
        "letter",
    }


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('channel = "fax"\npurpose = "payment_reminder"\ntemplate = "x"', "channel 'fax'"),
        ('channel = "sms"\npurpose = "nag"\ntemplate = "x"', "purpose 'nag'"),
        (
            'channel = "letter"\npurpose = "cease_confirmation"\ntemplate = "x"',
            "is not a step's",
        ),
        ('channel = "sms"\npurpose = "legal_review"\ntemplate = "x"', "goes to a review channel"),
        (
            'channel = "legal_review"\npurpose = "payment_request"\ntemplate = "x"',
            "serves legal_review only",
        ),
        ('channel = "sms"\npurpose = "payment_reminder"\ntemplate = "x"\nday = -1', "day must"),
        (
            'channel = "sms"\npurpose = "payment_reminder"\ntemplate = "x"\nrepeat_days = 0',
            "repeat_days must",
        ),
        (
            'channel = "sms"\npurpose = "payment_reminder"\ntemplate = "x"\nfallback = "push"',
            "go together",
        ),
        (
            'channel = "sms"\npurpose = "payment_reminder"\ntemplate = "x"\n'
            'fallback = "sms"\nfallback_template = "y"',
            "must differ",
        ),
        ('channel = "sms"\npurpose = "payment_reminder"\ntemplat = "x"', "did you mean 'template'"),
        ('channel = "sms"\npurpose = "payment_reminder"\ntemplate = ""', "template must name"),
    ],
)
def test_a_step_that_cannot_be_followed_is_refused_at_load(step: str, message: str) -> None:
    text = GOOD + "[[tiers.steps]]\n" + step + "\n[contact]\n"
    with pytest.raises(PolicyError, match=rf"^inline.toml: .*tiers\[1\]\.steps\[0\].*{message}"):
        parse_policy(text, "inline.toml")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[tiers.steps]]\nchannel = "push"\npurpose = "payment_reminder"\ntemplate = "x"\n',
         "needs a \\[contact\\] table"),
        ("[contact]\nlead_minutes = 999\n", "lead_minutes must be between 0 and 360"),
        ("[contact]\nfinal_notce_days = 14\n", "did you mean 'final_notice_days'"),
    ],
)  # fmt: skip
def test_a_contact_table_that_cannot_be_followed_is_refused(extra: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(GOOD + extra, "inline.toml")


def test_a_step_naming_a_template_of_another_channel_is_refused() -> None:
    step = Step("sms", "payment_reminder", "reminder-push")
    with pytest.raises(TreatmentError, match="is for push payment_reminder, the step sends sms"):
        check_templates([("tiers[1].steps[0]", step)], CATALOGUE)
    with pytest.raises(TreatmentError, match="'nope' is not in the catalogue"):
        check_templates([("x", Step("sms", "payment_reminder", "nope"))], CATALOGUE)


@pytest.mark.parametrize("name", shipped_profiles())
class TestEveryShippedProfile:
    def test_its_hours_leave_room_for_a_window(self, name: str) -> None:
        profile = load_profile(name)
        assert profile.permitted.end - profile.permitted.start >= profile.min_window_minutes

    def test_it_needs_consent_for_sms_and_email_and_defaults_reach_the_borrower(
        self, name: str
    ) -> None:
        profile = load_profile(name)
        assert profile.consent_required == {"sms", "email"}
        assert profile.default_channels & PERSON_REACHING
        assert not profile.default_channels & profile.consent_required

    def test_it_limits_calls(self, name: str) -> None:
        calls = load_profile(name).calls
        assert calls.max_attempts is not None or calls.max_unanswered_per_day is not None


@pytest.mark.parametrize(
    ("name", "hours", "calls"),
    [
        ("us-reg-f", (480, 1260), (7, 7, 7, None, None)),
        ("cn-2026", (480, 1320), (None, None, None, 6, 3)),
    ],
)
def test_the_shipped_profiles_carry_the_figures_of_their_sources(
    name: str, hours: tuple[int, int], calls: tuple[int | None, ...]
) -> None:
    profile = load_profile(name)
    assert (profile.permitted.start, profile.permitted.end) == hours
    limits = profile.calls
    assert (
        limits.max_attempts,
        limits.window_days,
        limits.blackout_days,
        limits.max_unanswered_per_day,
        limits.max_connected_per_day,
    ) == calls


PROFILE = """
name = "x"
version = "1"
permitted_hours = { start = "08:00", end = "21:00" }
default_channels = ["call"]
consent_required = ["sms"]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("08:00", "8:00"), "permitted_hours: "),
        (('default_channels = ["call"]', 'default_channels = ["fax"]'), "'fax' is not a channel"),
        (('default_channels = ["call"]', 'default_channels = ["call", "call"]'), "listed twice"),
        (('name = "x"', 'name = "X Y"'), "name must be lowercase"),
        (("consent_required", "consent_requierd"), "did you mean 'consent_required'"),
        (('version = "1"', 'version = "1"\nmin_window_minutes = 900'), "min_window_minutes"),
        (('version = "1"', 'version = "1"\ndefault_language = "english!"'), "default_language"),
        (
            ('consent_required = ["sms"]', 'consent_required = ["sms"]\n[calls]\nmax_attempts = 7'),
            "go together",
        ),
        (
            (
                'consent_required = ["sms"]',
                'consent_required = ["sms"]\n[calls]\nblackout_days = 0',
            ),
            "between 1 and 366",
        ),
    ],
)
def test_a_profile_that_cannot_be_enforced_is_refused_at_load(
    change: tuple[str, str], message: str
) -> None:
    text = PROFILE.replace(*change, 1)
    with pytest.raises(ProfileError, match=rf"^inline.toml: .*{message}"):
        parse_profile(text, "inline.toml")


def test_an_unknown_profile_lists_the_shipped_ones() -> None:
    with pytest.raises(
        ProfileError, match="unknown profile 'us'; shipped profiles: cn-2026, us-reg-f"
    ):
        load_profile("us")
