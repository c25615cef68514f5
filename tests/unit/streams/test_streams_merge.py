"""The event-time merge of one partition's input topics (streams/merge.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.merge import RECHECK_S, PartitionMerger

SOURCES = ("payments", "missed")
NEVER = lambda source: False  # noqa: E731 -- the caught_up callbacks read best as values
ALWAYS = lambda source: True  # noqa: E731


def merger(max_idle: float = 0.0, sources: tuple[str, ...] = SOURCES) -> PartitionMerger[str]:
    """No wait for producers by default, so ordering tests release what is caught up."""
    return PartitionMerger(sources=sources, max_idle=max_idle)


class Answering:
    """A ``caught_up`` callback giving one answer and recording which sources were asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, source: str) -> bool:
        self.asked.append(source)
        return self.answer


def push(m: PartitionMerger[str], source: str, event_time: float, *, now: float = 0.0) -> None:
    m.push(source, event_time=event_time, item=f"{source}@{event_time:g}", now=now)


class TestConstruction:
    @pytest.mark.parametrize(
        ("sources", "max_idle", "complaint"),
        [
            ((), 0.1, "sources must be distinct and non-empty"),
            (("a", "a"), 0.1, "sources must be distinct and non-empty"),
            (("a", "b"), -0.001, "max_idle must be >= 0"),
        ],
        ids=["no sources", "repeated source", "negative wait"],
    )
    def test_refuses_settings_it_cannot_honour(
        self, sources: tuple[str, ...], max_idle: float, complaint: str
    ) -> None:
        with pytest.raises(ValueError, match=re.escape(complaint)):
            PartitionMerger(sources=sources, max_idle=max_idle)

    def test_starts_empty_with_no_stream_time(self) -> None:
        m = merger()
        assert len(m) == 0
        assert m.stream_time == float("-inf")
        assert m.release(now=0.0, caught_up=NEVER) == []


class TestReleaseOrder:
    def test_releases_in_event_time_order_across_sources_when_both_have_data(self) -> None:
        m = merger()
        push(m, "payments", 20)
        push(m, "payments", 40)
        push(m, "missed", 10)
        push(m, "missed", 30)
        assert m.release(now=0.0, caught_up=ALWAYS) == [
            "missed@10",
            "payments@20",
            "missed@30",
            "payments@40",
        ]

    def test_stops_when_a_source_runs_dry_and_is_still_lagging(self) -> None:
        m = merger()
        push(m, "payments", 20)
        push(m, "payments", 40)
        push(m, "missed", 30)
        assert m.release(now=0.0, caught_up=NEVER) == ["payments@20", "missed@30"]
        assert len(m) == 1

    def test_never_reorders_records_within_one_source(self) -> None:
        m = merger()
        for event_time in (50, 10, 30):
            push(m, "payments", event_time)
        assert m.release(now=0.0, caught_up=ALWAYS) == [
            "payments@50",
            "payments@10",
            "payments@30",
        ]

    def test_an_out_of_order_head_holds_back_the_other_source_behind_it(self) -> None:
        m = merger()
        push(m, "payments", 50)
        push(m, "payments", 10)
        push(m, "missed", 20)
        assert m.release(now=0.0, caught_up=ALWAYS) == ["missed@20", "payments@50", "payments@10"]

    def test_ties_in_event_time_go_to_the_source_listed_first(self) -> None:
        m = merger(sources=("payments", "missed"))
        push(m, "missed", 10)
        push(m, "payments", 10)
        assert m.release(now=0.0, caught_up=ALWAYS) == ["payments@10", "missed@10"]

        m = merger(sources=("missed", "payments"))
        push(m, "payments", 10)
        push(m, "missed", 10)
        assert m.release(now=0.0, caught_up=ALWAYS) == ["missed@10", "payments@10"]


class TestWaitingForALaggingSource:
    def test_holds_while_the_other_source_is_empty_and_lagging(self) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=0.0)
        assert m.release(now=0.49, caught_up=NEVER) == []
        assert len(m) == 1

    def test_waits_max_idle_for_producers_even_when_the_empty_source_is_fully_read(
        self,
    ) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=0.0)
        assert m.release(now=0.49, caught_up=ALWAYS) == []
        assert m.release(now=0.5, caught_up=ALWAYS) == ["payments@20"]

    def test_with_no_wait_for_producers_releases_at_once_when_the_empty_source_is_read(
        self,
    ) -> None:
        m = merger(max_idle=0.0)
        push(m, "payments", 20, now=0.0)
        assert m.release(now=0.0, caught_up=lambda source: source == "missed") == ["payments@20"]

    def test_asks_only_about_the_empty_sources(self) -> None:
        caught_up = Answering(True)
        m = merger()
        push(m, "payments", 20)
        m.release(now=0.0, caught_up=caught_up)
        assert set(caught_up.asked) == {"missed"}

    def test_keeps_waiting_past_max_idle_while_the_empty_source_has_unread_records(
        self,
    ) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=1.0)
        assert m.release(now=1.5, caught_up=NEVER) == []
        assert m.release(now=1.5 + RECHECK_S, caught_up=ALWAYS) == ["payments@20"]

    def test_a_lagging_answer_is_trusted_briefly_and_forgotten_when_that_source_sends(
        self,
    ) -> None:
        lagging = Answering(False)
        m = merger(max_idle=0.0)
        now = 1.0
        push(m, "payments", 20, now=now)
        assert m.release(now=now, caught_up=lagging) == []
        push(m, "payments", 30, now=now)  # the other source sending changes nothing
        assert m.release(now=now + RECHECK_S / 2, caught_up=lagging) == []
        assert lagging.asked == ["missed"]
        push(m, "missed", 25, now=now)
        assert m.release(now=now, caught_up=lagging) == ["payments@20", "missed@25"]
        assert lagging.asked == ["missed", "missed"], "missed is empty again: asked afresh"

    def test_a_caught_up_answer_is_trusted_briefly_and_forgotten_when_that_source_sends(
        self,
    ) -> None:
        caught_up = Answering(True)
        m = merger(max_idle=0.0)
        push(m, "payments", 20, now=1.0)
        assert m.release(now=1.0, caught_up=caught_up) == ["payments@20"]
        push(m, "payments", 30, now=1.0)
        assert m.release(now=1.0 + RECHECK_S / 2, caught_up=caught_up) == ["payments@30"]
        assert caught_up.asked == ["missed"], "one answer serves records released soon after"
        push(m, "payments", 40, now=1.0)
        assert m.release(now=1.0 + RECHECK_S, caught_up=caught_up) == ["payments@40"]
        assert caught_up.asked == ["missed", "missed"], "and expires"
        push(m, "missed", 45, now=1.0)
        push(m, "payments", 50, now=1.0)
        assert m.release(now=1.0 + RECHECK_S, caught_up=caught_up) == ["missed@45", "payments@50"]
        assert caught_up.asked == ["missed", "missed", "missed"], "missed sent since: asked afresh"

    def test_a_source_with_unread_records_is_waited_for_however_long_it_takes(self) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=1.0)
        assert m.release(now=1.0 + 86_400, caught_up=NEVER) == []
        assert m.waiting(now=1.0 + 86_400) == 86_400

    def test_the_wait_is_counted_from_the_oldest_buffered_arrival(self) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=1.0)
        push(m, "payments", 25, now=1.4)
        assert m.release(now=1.5, caught_up=ALWAYS) == ["payments@20"]
        assert m.release(now=1.89, caught_up=ALWAYS) == []
        assert m.release(now=1.9, caught_up=ALWAYS) == ["payments@25"]

    def test_reports_no_wait_when_nothing_is_held(self) -> None:
        m = merger()
        assert m.waiting(now=5.0) == 0
        push(m, "payments", 20, now=1.0)
        push(m, "missed", 10, now=2.0)
        assert m.waiting(now=5.0) == 4.0
        m.release(now=5.0, caught_up=ALWAYS)
        assert m.waiting(now=5.0) == 0

    def test_a_record_of_the_lagging_source_arriving_in_time_goes_first(self) -> None:
        m = merger(max_idle=0.5)
        push(m, "payments", 20, now=0.0)
        assert m.release(now=0.1, caught_up=NEVER) == []
        push(m, "missed", 10, now=0.2)
        assert m.release(now=0.2, caught_up=NEVER) == ["missed@10"]
        assert m.release(now=0.5, caught_up=ALWAYS) == ["payments@20"]


class TestStreamTimeAndDrain:
    def test_stream_time_is_the_largest_event_time_released(self) -> None:
        m = merger()
        push(m, "payments", 50)
        push(m, "payments", 10)
        m.release(now=0.0, caught_up=ALWAYS)
        assert m.stream_time == 50

    def test_buffered_records_do_not_move_stream_time(self) -> None:
        m = merger()
        push(m, "payments", 10)
        m.release(now=0.0, caught_up=ALWAYS)
        push(m, "payments", 99)
        assert m.release(now=1.0, caught_up=NEVER) == []
        assert m.stream_time == 10


# --- Properties -----------------------------------------------------------------------

THREE = ("a", "b", "c")
pushes = st.lists(st.tuples(st.sampled_from(THREE), st.integers(0, 50)), max_size=60)


def tagged(items: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Each push as (source, event time, position in its source), a unique item."""
    seen = dict.fromkeys(THREE, 0)
    result = []
    for source, event_time in items:
        result.append((source, event_time, seen[source]))
        seen[source] += 1
    return result


def filled(items: list[tuple[str, int, int]]) -> PartitionMerger[tuple[str, int, int]]:
    m: PartitionMerger[tuple[str, int, int]] = PartitionMerger(THREE, max_idle=0.0)
    for item in items:
        m.push(item[0], event_time=item[1], item=item, now=0.0)
    return m


PROPERTY = settings(max_examples=200, deadline=None)


class TestMergeProperties:
    @PROPERTY
    @given(pushes)
    def test_with_everything_caught_up_each_record_is_released_exactly_once(
        self, raw: list[tuple[str, int]]
    ) -> None:
        items = tagged(raw)
        released = filled(items).release(now=0.0, caught_up=ALWAYS)
        assert sorted(released) == sorted(items)

    @PROPERTY
    @given(pushes)
    def test_each_source_keeps_its_own_order(self, raw: list[tuple[str, int]]) -> None:
        items = tagged(raw)
        released = filled(items).release(now=0.0, caught_up=ALWAYS)
        for source in THREE:
            assert [i for i in released if i[0] == source] == [i for i in items if i[0] == source]

    @PROPERTY
    @given(pushes)
    def test_sorted_sources_merge_into_a_globally_sorted_stream(
        self, raw: list[tuple[str, int]]
    ) -> None:
        items = sorted(tagged(raw), key=lambda item: item[1])  # each source now sorted too
        released = filled(items).release(now=0.0, caught_up=ALWAYS)
        assert [i[1] for i in released] == sorted(i[1] for i in items)

    @PROPERTY
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(THREE),
                st.integers(0, 50),
                st.booleans(),  # release after this push?
                st.floats(0, 0.6),  # how much monotonic time passes first
                st.sets(st.sampled_from(THREE)),  # sources caught up at that release
            ),
            max_size=40,
        )
    )
    def test_interleaved_pushes_and_releases_lose_and_reorder_nothing_within_a_source(
        self, script: list[tuple[str, int, bool, float, set[str]]]
    ) -> None:
        items = tagged([(source, event_time) for source, event_time, *_ in script])
        m: PartitionMerger[tuple[str, int, int]] = PartitionMerger(THREE, max_idle=0.5)
        released: list[tuple[str, int, int]] = []
        now = 0.0
        for item, (_, _, release, elapsed, caught_up) in zip(items, script, strict=True):
            now += elapsed
            m.push(item[0], event_time=item[1], item=item, now=now)
            if release:
                released += m.release(now=now, caught_up=caught_up.__contains__)
            assert m.stream_time == max((i[1] for i in released), default=float("-inf"))
        released += m.release(now=now + 1.0, caught_up=ALWAYS)
        assert sorted(released) == sorted(items)
        for source in THREE:
            assert [i for i in released if i[0] == source] == [i for i in items if i[0] == source]


class TestSourcesThatComeAndGo:
    """Re-routed inputs: one source per partition they come from, known from its first
    record or watermark (streams/reroute.py)."""

    def test_an_added_source_holds_records_behind_it_until_it_sends_or_is_caught_up(
        self,
    ) -> None:
        m = merger()
        m.add_source("origin")
        push(m, "payments", 20)
        push(m, "missed", 30)
        assert m.release(now=0.0, caught_up=lambda source: source != "origin") == []
        push(m, "origin", 10)
        assert m.release(now=0.0, caught_up=lambda source: source != "origin") == ["origin@10"]

    @pytest.mark.parametrize(
        ("frontier", "released"),
        [
            (19.0, []),  # may still send something at 19.5
            (20.0, ["payments@20"]),  # a record of its own at 20 would go after payments
            (21.0, ["payments@20"]),
        ],
    )
    def test_a_frontier_past_the_head_lets_it_go_while_the_source_is_empty(
        self, frontier: float, released: list[str]
    ) -> None:
        m = merger()
        m.add_source("origin")
        push(m, "payments", 20)
        push(m, "missed", 40)
        m.advance("origin", event_time=frontier)
        assert m.release(now=0.0, caught_up=NEVER) == released

    def test_a_frontier_equal_to_the_head_lets_only_a_later_ranked_source_go_first(
        self,
    ) -> None:
        m: PartitionMerger[str] = PartitionMerger(("b", "c"), max_idle=0.0, rank=str)
        m.add_source("a")  # ranked before both: its record at 20 would go first
        push(m, "b", 20)
        push(m, "c", 30)
        m.advance("a", event_time=20.0)
        assert m.release(now=0.0, caught_up=NEVER) == []
        m.advance("a", event_time=20.5)
        assert m.release(now=0.0, caught_up=NEVER) == ["b@20"]

    def test_a_frontier_never_moves_back(self) -> None:
        m = merger()
        m.add_source("origin")
        m.advance("origin", event_time=30.0)
        m.advance("origin", event_time=10.0)  # a watermark re-sent after a restart
        push(m, "payments", 20)
        push(m, "missed", 40)
        assert m.release(now=0.0, caught_up=NEVER) == ["payments@20"]

    def test_a_removed_source_is_no_longer_waited_for_but_one_holding_records_stays(
        self,
    ) -> None:
        m = merger()
        m.add_source("origin")
        push(m, "origin", 5)
        with pytest.raises(ValueError, match="still holds records"):
            m.remove_source("origin")
        assert m.release(now=0.0, caught_up=ALWAYS) == ["origin@5"]
        push(m, "payments", 20)
        push(m, "missed", 40)
        m.remove_source("origin")
        assert m.release(now=0.0, caught_up=NEVER) == ["payments@20"]

    def test_an_unwaited_source_holds_only_while_it_has_unread_records(self) -> None:
        m: PartitionMerger[str] = PartitionMerger(
            ("payments", "missed", "topic"), max_idle=5.0, unwaited=frozenset({"topic"})
        )
        push(m, "payments", 20)
        push(m, "missed", 40)
        assert m.release(now=0.0, caught_up=lambda source: source != "topic") == []
        assert m.release(now=1.0, caught_up=ALWAYS) == ["payments@20"]  # no max_idle wait

    def test_a_hold_releases_nothing_until_it_ends(self) -> None:
        m = merger()
        m.hold(until=2.0)
        push(m, "payments", 20, now=0.0)
        push(m, "missed", 40, now=0.0)
        assert m.release(now=1.9, caught_up=ALWAYS) == []
        assert m.release(now=2.0, caught_up=ALWAYS) == ["payments@20", "missed@40"]

    def test_ties_go_to_the_source_ranked_first_whatever_order_sources_were_added_in(
        self,
    ) -> None:
        m: PartitionMerger[str] = PartitionMerger(("z",), max_idle=0.0, rank=str)
        for source in ("y", "x"):
            m.add_source(source)
        for source in ("z", "y", "x"):
            push(m, source, 10)
        assert m.release(now=0.0, caught_up=ALWAYS) == ["x@10", "y@10", "z@10"]
