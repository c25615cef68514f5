"""Tier policies: loading, the DPD-to-tier table, and refusing bad files with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import PolicyError
from domain.policy import Tier, TierPolicy, load_policy, parse_policy, shipped_policies

GOOD = """\
name = "test"
version = "7"
[[tiers]]
level = 0
name = "current"
min_dpd = 0
[[tiers]]
level = 1
name = "late"
min_dpd = 10
"""

RISK = """\
[risk]
escalate_at = 0.7
grace_below = 0.2
grace_min_on_time_share = 0.8
hysteresis = 0.05
horizon_days = 30
min_labels = 500
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


class TestShippedPolicies:
    def test_dpd_only_is_shipped_with_the_industry_buckets(self) -> None:
        policy = load_policy("dpd-only")
        assert policy.name == "dpd-only"
        assert policy.version == "2"
        assert [(t.level, t.name, t.min_dpd) for t in policy.tiers] == [
            (0, "current", 0),
            (1, "reminder", 1),
            (2, "call", 30),
            (3, "intensive", 60),
            (4, "legal", 90),
        ]

    @pytest.mark.parametrize(
        ("dpd", "tier", "name"),
        [
            (0, 0, "current"),
            (1, 1, "reminder"),
            (29, 1, "reminder"),
            (30, 2, "call"),
            (59, 2, "call"),
            (60, 3, "intensive"),
            (89, 3, "intensive"),
            (90, 4, "legal"),
            (3650, 4, "legal"),
        ],
    )
    def test_dpd_only_maps_days_past_due_to_tiers(self, dpd: int, tier: int, name: str) -> None:
        policy = load_policy("dpd-only")
        assert policy.tier_for_dpd(dpd) == tier
        assert policy.tier_name(tier) == name

    @pytest.mark.parametrize("name", shipped_policies())
    def test_every_shipped_policy_puts_each_threshold_in_its_own_tier(self, name: str) -> None:
        policy = load_policy(name)
        for below, tier in zip(policy.tiers, policy.tiers[1:], strict=False):
            assert policy.next_escalation(below.level, None, 0)[0] == tier.min_dpd  # type: ignore[index]
            assert policy.tier_for_dpd(tier.min_dpd) == tier.level
            assert policy.tier_for_dpd(tier.min_dpd - 1) == below.level
        assert policy.next_escalation(policy.tiers[-1].level, None, 0) is None

    def test_an_unknown_shipped_name_lists_the_shipped_policies(self) -> None:
        with pytest.raises(PolicyError, match=r"unknown policy 'dpd-onyl'; shipped policies: .*"):
            load_policy("dpd-onyl")
        assert "dpd-only" in shipped_policies()


class TestLoadingFromAPath:
    def test_a_toml_file_is_loaded_by_path(self, tmp_path: Path) -> None:
        policy = load_policy(write(tmp_path, GOOD))
        assert (policy.name, policy.version, policy.description) == ("test", "7", "")
        assert policy.tier_for_dpd(10) == 1

    def test_a_relative_name_ending_in_toml_is_a_path(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(tmp_path, GOOD, "mine.toml")
        monkeypatch.chdir(tmp_path)
        assert load_policy("mine.toml").name == "test"

    def test_a_missing_file_is_reported_with_its_path(self, tmp_path: Path) -> None:
        missing = str(tmp_path / "nope.toml")
        with pytest.raises(PolicyError, match=rf"^{missing}: cannot read policy file"):
            load_policy(missing)

    def test_the_description_is_optional_but_kept(self) -> None:
        policy = parse_policy(GOOD.replace('version = "7"', 'version = "7"\ndescription = "d"'))
        assert policy.description == "d"


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


# One row per bad file: (case, file text, fragment the error message must contain).
# fmt: off
BAD_FILES = [
    ("not toml", "name = ", "not valid TOML"),
    ("missing version", edit('version = "7"\n', ""), "missing required key version"),
    ("missing tiers", GOOD.partition("[[tiers]]")[0], "missing required key tiers"),
    ("numeric version", edit('version = "7"', "version = 7"),
     "version must be a string, got int 7"),
    ("empty version", edit('version = "7"', 'version = " "'), "version must not be empty"),
    ("empty name", edit('name = "test"', 'name = ""'), "name must not be empty"),
    ("unknown top-level key", edit('version = "7"', 'version = "7"\nverison = "8"'),
     "unknown key 'verison' in the top level; did you mean 'version'? expected one of"),
    ("unknown risk key", GOOD + RISK.replace("hysteresis", "hysterisis"),
     "unknown key 'hysterisis' in risk; did you mean 'hysteresis'?"),
    ("missing risk key", GOOD + RISK.replace("min_labels = 500\n", ""),
     "missing required key risk.min_labels"),
    ("integer threshold", GOOD + RISK.replace("escalate_at = 0.7", "escalate_at = 1"),
     "risk.escalate_at must be a decimal number such as 0.5, got int 1"),
    ("thresholds out of order", GOOD + RISK.replace("grace_below = 0.2", "grace_below = 0.75"),
     "risk: need 0 < grace_below < escalate_at < 1, got grace_below 0.75 and escalate_at 0.7"),
    ("hysteresis wider than the gap", GOOD + RISK.replace("hysteresis = 0.05", "hysteresis = 0.3"),
     "risk: hysteresis must be >= 0 and less than half the gap"),
    ("zero horizon", GOOD + RISK.replace("horizon_days = 30", "horizon_days = 0"),
     "risk: horizon_days must be at least 1, got 0"),
    ("horizon beyond the calendar",
     GOOD + RISK.replace("horizon_days = 30", "horizon_days = 36526"),
     "risk: horizon_days must be at most 36525 (the supported calendar"),
    ("risk not a table", GOOD.replace('version = "7"', 'version = "7"\nrisk = 0.5'),
     "risk must be a table, got float 0.5"),
    ("unknown tier key", edit("min_dpd = 10", "min_dpd = 10\nmax_dpd = 20"),
     "unknown key 'max_dpd' in tiers[1]"),
    ("tiers as a single table", 'name = "t"\nversion = "1"\n[tiers]\nlevel = 0\n',
     "tiers must be an array, got dict"),
    ("tiers as plain values", 'name = "t"\nversion = "1"\ntiers = [1, 2]\n',
     "tiers[0] must be a table; write tiers as [[tiers]]"),
    ("missing min_dpd", edit("min_dpd = 10", ""), "missing required key tiers[1].min_dpd"),
    ("boolean level", edit("level = 1", "level = true"),
     "tiers[1].level must be an integer, got bool True"),
    ("fractional min_dpd", edit("min_dpd = 10", "min_dpd = 10.5"),
     "tiers[1].min_dpd must be an integer, got float 10.5"),
    ("a single tier", GOOD.partition("[[tiers]]\nlevel = 1")[0],
     "at least 2 tiers are required, got 1"),
    ("levels not starting at 0", edit("level = 0", "level = 1"),
     "tiers[0].level must be 0 (levels run 0..n-1 in file order), got 1"),
    ("levels with a gap", edit("level = 1", "level = 2"),
     "tiers[1].level must be 1 (levels run 0..n-1 in file order), got 2"),
    ("first tier not at 0 dpd", edit("min_dpd = 0", "min_dpd = 1"),
     "tiers[0].min_dpd must be 0 so that every borrower has a tier, got 1"),
    ("threshold beyond the calendar", edit("min_dpd = 10", "min_dpd = 36526"),
     "tiers[1].min_dpd must be at most 36525 (see domain.calendar), got 36526"),
    ("thresholds not increasing", edit("min_dpd = 10", "min_dpd = 0"),
     "tiers[1].min_dpd must be greater than tiers[0].min_dpd (0), got 0"),
    ("duplicate tier names", edit('name = "late"', 'name = "current"'),
     "tiers[1].name 'current' is already used by tiers[0]"),
    ("uppercase tier name", edit('name = "late"', 'name = "Late"'),
     "tiers[1].name must be a lowercase identifier such as 'call', got 'Late'"),
    ("empty tier name", edit('name = "late"', 'name = ""'),
     "tiers[1].name must be a lowercase identifier such as 'call', got ''"),
]
# fmt: on


class TestValidation:
    @pytest.mark.parametrize(
        ("text", "fragment"),
        [pytest.param(text, fragment, id=case) for case, text, fragment in BAD_FILES],
    )
    def test_a_bad_file_is_refused_naming_the_file_and_the_problem(
        self, tmp_path: Path, text: str, fragment: str
    ) -> None:
        path = write(tmp_path, text)
        with pytest.raises(PolicyError) as refused:
            load_policy(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: ")
        assert fragment in message

    def test_a_policy_built_in_code_is_validated_too(self) -> None:
        with pytest.raises(PolicyError, match="at least 2 tiers"):
            TierPolicy("p", "1", (Tier(0, "current", 0),))

    def test_negative_days_past_due_have_no_tier(self) -> None:
        with pytest.raises(ValueError, match="cannot be negative"):
            load_policy("dpd-only").tier_for_dpd(-1)

    @pytest.mark.parametrize("level", [-1, 5])
    def test_levels_outside_the_policy_are_refused(self, level: int) -> None:
        policy = load_policy("dpd-only")
        with pytest.raises(ValueError, match=f"has no tier {level}"):
            policy.tier_name(level)
        with pytest.raises(ValueError, match=f"has no tier {level}"):
            policy.next_escalation(level, None, 0)
