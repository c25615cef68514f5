"""Contact features: promise-kept rate, promises broken and contact responsiveness, read
from the borrower's contact conduct into the snapshot the online model scores, only when
contacts are orchestrated (scoring/features.py, scoring/model.py)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.borrower import BorrowerState
from domain.contact.channels import CHANNELS, Channel
from domain.contact.conduct import HALF_LIFE_DAYS, ContactConduct
from domain.contact.context import ContactContext
from domain.contact.events import OUTCOME_KINDS, ContactOutcome, Direction, OutcomeKind, Promise
from domain.contact.profile import load_profile
from domain.contact.templates import load_catalogue
from domain.events import MissedPayment
from domain.policy import load_policy
from scoring.features import CONTACT_NEUTRAL, FEATURE_NAMES, RiskFeatures, contact_features
from scoring.model import RiskModel
from streams.metrics import Metrics
from streams.risk_scoring import RiskScoring

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CONTACT_NAMES = tuple(CONTACT_NEUTRAL)


def conduct_of(kept: int = 0, broken: int = 0, reached: int = 0, missed: int = 0) -> ContactConduct:
    """A conduct with these whole counts, all at :data:`NOW` (nothing faded)."""
    conduct = ContactConduct()
    for keeps in [True] * kept + [False] * broken:
        conduct.promised(NOW)
        conduct.settled(NOW, kept=keeps)
    outcomes: list[OutcomeKind] = ["reached"] * reached + ["no_answer"] * missed
    for outcome in outcomes:
        conduct.reported(call(outcome, NOW), NOW)
    return conduct


def call(
    outcome: OutcomeKind, at: datetime, channel: Channel = "call", direction: Direction = "outbound"
) -> ContactOutcome:
    return ContactOutcome("o", "b1", None, channel, direction, at, outcome)


class TestDefinitions:
    def test_a_borrower_without_contact_history_is_neutral(self) -> None:
        assert contact_features(ContactConduct(), NOW) == CONTACT_NEUTRAL
        assert CONTACT_NEUTRAL == {
            "promise_kept_rate": 0.5,
            "promises_broken": 0.0,
            "contact_responsiveness": 0.5,
        }

    @pytest.mark.parametrize(
        ("conduct", "expected"),
        [
            pytest.param(conduct_of(kept=3), (0.8, 0.0, 0.5), id="three_kept"),
            pytest.param(conduct_of(broken=2), (0.25, 2.0, 0.5), id="two_broken"),
            pytest.param(conduct_of(kept=1, broken=1), (0.5, 1.0, 0.5), id="one_each"),
            pytest.param(conduct_of(reached=1, missed=3), (0.5, 0.0, 2 / 6), id="one_call_in_4"),
            pytest.param(conduct_of(reached=4), (0.5, 0.0, 5 / 6), id="always_reached"),
        ],
    )
    def test_rates_are_smoothed_towards_one_half(
        self, conduct: ContactConduct, expected: tuple[float, ...]
    ) -> None:
        features = contact_features(conduct, NOW)
        assert tuple(features[name] for name in CONTACT_NAMES) == pytest.approx(expected)

    def test_old_conduct_fades_towards_neutral(self) -> None:
        a_half_life_later = NOW + timedelta(days=HALF_LIFE_DAYS)
        features = contact_features(conduct_of(broken=1), a_half_life_later)
        assert features["promises_broken"] == pytest.approx(0.5)
        assert features["promise_kept_rate"] == pytest.approx(1 / 2.5)  # was 1/3
        long_after = contact_features(conduct_of(broken=1), NOW + timedelta(days=3650))
        assert long_after == pytest.approx(CONTACT_NEUTRAL)


class TestTheSnapshot:
    def test_without_contacts_it_is_the_payment_history_alone(self) -> None:
        assert tuple(RiskFeatures().snapshot(NOW, dpd=1, overdue=100)) == FEATURE_NAMES

    def test_with_a_conduct_the_contact_features_follow(self) -> None:
        features = RiskFeatures(conduct=conduct_of(kept=1)).snapshot(NOW, dpd=1, overdue=100)
        assert tuple(features) == FEATURE_NAMES + CONTACT_NAMES
        assert features["promise_kept_rate"] == pytest.approx(2 / 3)

    def test_the_conduct_is_not_stored_with_the_features(self) -> None:
        features = RiskFeatures(conduct=conduct_of(kept=1))
        assert "conduct" not in features.to_dict()
        assert RiskFeatures.from_dict(features.to_dict()).conduct is None


_instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_steps = st.one_of(
    st.tuples(st.just("promised"), _instants),
    st.tuples(st.just("settled"), _instants, st.booleans()),
    st.tuples(
        st.just("reported"),
        _instants,
        st.sampled_from(OUTCOME_KINDS),
        st.sampled_from(CHANNELS),
        st.sampled_from(["outbound", "inbound"]),
    ),
)


@given(st.lists(_steps, max_size=60), _instants)
def test_the_features_stay_finite_and_in_their_documented_ranges(
    history: list[tuple[Any, ...]], at: datetime
) -> None:
    conduct = ContactConduct()
    for kind, when, *rest in history:  # instants in any order, as far apart as they come
        if kind == "promised":
            conduct.promised(when)
        elif kind == "settled":
            conduct.settled(when, kept=rest[0])
        else:
            conduct.reported(call(rest[0], when, channel=rest[1], direction=rest[2]), when)
    features = contact_features(conduct, at)
    assert all(math.isfinite(value) for value in features.values())
    assert 0.0 < features["promise_kept_rate"] < 1.0
    assert features["promises_broken"] >= 0.0
    assert 0.0 < features["contact_responsiveness"] < 1.0
    assert conduct.reached <= conduct.attempts
    restored = ContactConduct.from_list(orjson.loads(orjson.dumps(conduct.to_list())))
    assert contact_features(restored, at) == features


class TestInTheStream:
    """The assessor reads the conduct from the borrower's contact book into each snapshot."""

    POLICY = load_policy("risk-adjusted")
    CONTEXT = ContactContext.of(POLICY, load_profile("us-reg-f"), load_catalogue(), "UTC")

    class Models:
        def load(self, partition: int) -> bytes | None:
            return None

        async def save_many(self, checkpoints: list[tuple[int, bytes]]) -> None:
            raise AssertionError("nothing is saved here")

    def scored(self, *, contacts: bool) -> list[dict[str, float]]:
        """A borrower who misses, promises, breaks the promise and misses again: the
        snapshots scored."""
        assert self.POLICY.risk is not None
        scoring = RiskScoring(self.POLICY.risk, self.Models(), Metrics())
        state, risk = BorrowerState.new("b1"), scoring.new_risk()
        context = self.CONTEXT if contacts else None
        day = datetime(2025, 1, 2, 9, tzinfo=UTC)
        inputs: list[MissedPayment | ContactOutcome] = [
            MissedPayment("m1", "b1", "L1", "i1", date(2025, 1, 1), 5000, "USD", day),
            ContactOutcome("o1", "b1", None, "call", "outbound", day + timedelta(days=1),
                           "promise_to_pay", Promise(5000, "USD", date(2025, 1, 6))),
            # After the promise's deadline (9 January), inside the first snapshot's horizon.
            MissedPayment("m2", "b1", "L2", "i2", date(2025, 1, 14), 5000, "USD",
                          day + timedelta(days=13)),
        ]  # fmt: skip
        for event in inputs:
            if isinstance(event, ContactOutcome) and not contacts:
                continue  # contact inputs are not read with contacts off
            state.apply(event, self.POLICY, scoring.assessor(risk, 0), contact=context)
        return [label.features for label in risk.labels.pending]

    def test_with_contacts_off_snapshots_are_as_before(self) -> None:
        assert [tuple(s) for s in self.scored(contacts=False)] == [FEATURE_NAMES] * 2

    def test_with_contacts_on_every_snapshot_carries_the_conduct_from_the_first(self) -> None:
        first, second = self.scored(contacts=True)
        assert {name: first[name] for name in CONTACT_NAMES} == CONTACT_NEUTRAL
        broken = 0.5 ** (6.375 / HALF_LIFE_DAYS)  # at the deadline, 9 January 00:00
        assert second["promises_broken"] == pytest.approx(broken)
        assert second["promise_kept_rate"] == pytest.approx(1 / (broken + 2))
        reached = 0.5 ** (12 / HALF_LIFE_DAYS)  # the call the promise was made in
        assert second["contact_responsiveness"] == pytest.approx((reached + 1) / (reached + 2))


class TestLearned:
    """Labels drawn from a stated process in which a broken promise makes a cure less likely
    (not a claim about real borrowers): the model learns the link and uses it."""

    KEEPER, BREAKER = conduct_of(kept=3, reached=3), conduct_of(broken=3, reached=3)

    def trained(self) -> RiskModel:
        rng, model = random.Random(11), RiskModel(warmup=100)
        for _ in range(3000):
            dpd, on_time, keeps = rng.uniform(1, 90), rng.random(), rng.random() < 0.5
            conduct = self.KEEPER if keeps else self.BREAKER
            risky = dpd / 90 - on_time + (-0.4 if keeps else 0.4) + rng.gauss(0, 0.2) > 0
            base = {"dpd": dpd, "on_time_share": on_time}
            model.learn(base | contact_features(conduct, NOW), int(risky))
        return model

    def test_a_borrower_who_keeps_promises_scores_lower_than_one_who_breaks_them(self) -> None:
        model = self.trained()
        for dpd in (3.0, 20.0, 45.0, 80.0):
            for on_time in (0.1, 0.5, 0.9):
                base = {"dpd": dpd, "on_time_share": on_time}  # all else equal
                keeper = model.score(base | contact_features(self.KEEPER, NOW))
                breaker = model.score(base | contact_features(self.BREAKER, NOW))
                assert keeper.probability < breaker.probability

    def test_the_explanation_names_the_promise_record(self) -> None:
        score = self.trained().score(
            {"dpd": 20.0, "on_time_share": 0.5} | contact_features(self.BREAKER, NOW)
        )
        assert {name for name, _ in score.top_features} & {"promises_broken", "promise_kept_rate"}

    def test_a_model_that_never_saw_them_scores_a_neutral_borrower_as_without_them(
        self,
    ) -> None:
        model = RiskModel(warmup=10)
        rng = random.Random(3)
        for _ in range(200):
            model.learn({"dpd": rng.uniform(1, 90)}, rng.random() < 0.5)
        plain = {"dpd": 30.0}
        assert model.score(plain | CONTACT_NEUTRAL) == model.score(plain)
