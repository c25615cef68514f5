"""PortfolioConfig refuses settings that cannot describe a portfolio, saying which and why."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from simulator import ARCHETYPES, ConfigError, PortfolioConfig

INVALID = [
    ({"borrowers": 0}, "borrowers: expected a positive integer, got 0"),
    ({"borrowers": -5}, "borrowers: expected a positive integer, got -5"),
    ({"borrowers": 2.5}, "borrowers: expected a positive integer, got 2.5"),
    ({"borrowers": True}, "borrowers: expected a positive integer, got True"),
    ({"months": 0}, "months: expected a positive integer, got 0"),
    ({"start": datetime(2024, 1, 1)}, "start: expected a datetime.date"),
    ({"start": "2024-01-01"}, "start: expected a datetime.date, got '2024-01-01'"),
    ({"seed": -1}, r"seed: expected an integer in \[0, 2\*\*63\), got -1"),
    ({"seed": 2**63}, r"seed: expected an integer in \[0, 2\*\*63\)"),
    ({"currency": "eur"}, "currency: expected a 3-letter ISO 4217 code"),
    ({"currency": "EURO"}, "currency: expected a 3-letter ISO 4217 code"),
    ({"mix": {}}, "mix: expected a non-empty mapping"),
    ({"mix": {"reliable": 0.5}}, "mix: shares must sum to 1, got 0.5"),
    ({"mix": {"reliable": 0.5, "lazy": 0.5}}, "mix: unknown archetype.*lazy; known: reliable"),
    ({"mix": {"reliable": 1.2, "defaulter": -0.2}}, "mix: share of 'reliable' must be between"),
    ({"mix": {"reliable": math.nan}}, "mix: share of 'reliable' must be between 0 and 1"),
    ({"drift": 1.5}, "drift: expected a share between 0 and 1, got 1.5"),
    ({"drift": -0.1}, "drift: expected a share between 0 and 1"),
]


class TestPortfolioConfig:
    @pytest.mark.parametrize(("settings", "message"), INVALID, ids=[str(s) for s, _ in INVALID])
    def test_invalid_setting_is_refused_with_a_message_naming_it(self, settings, message):
        with pytest.raises(ConfigError, match=message):
            PortfolioConfig(**settings)

    def test_config_errors_are_value_errors_for_callers_that_know_only_the_stdlib(self):
        with pytest.raises(ValueError, match="months"):
            PortfolioConfig(months=-1)

    def test_defaults_describe_the_demo_portfolio(self):
        config = PortfolioConfig()
        assert (config.borrowers, config.months, config.currency) == (5000, 24, "EUR")
        assert math.isclose(sum(config.mix.values()), 1.0)
        assert config.end == date(2026, 1, 1)

    def test_archetypes_left_out_of_the_mix_get_no_borrowers(self):
        config = PortfolioConfig(mix={"reliable": 0.9, "defaulter": 0.1})
        assert dict(config.mix) == dict.fromkeys(ARCHETYPES, 0.0) | {
            "reliable": 0.9,
            "defaulter": 0.1,
        }

    def test_editing_the_callers_mix_afterwards_does_not_change_the_config(self):
        mix = {"reliable": 0.5, "struggling": 0.5}
        config = PortfolioConfig(mix=mix)
        mix["reliable"] = 0.0
        assert config.mix["reliable"] == 0.5

    def test_equal_configs_are_equal_and_hashable_so_they_can_key_a_cache(self):
        assert PortfolioConfig(seed=3) == PortfolioConfig(seed=3)
        assert len({PortfolioConfig(seed=3), PortfolioConfig(seed=3)}) == 1
