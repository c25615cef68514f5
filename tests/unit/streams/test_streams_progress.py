"""Stalled input partitions: unread records and a delivered offset that does not move."""

from __future__ import annotations

import pytest

from streams.progress import ProgressWatch


def watch_at(delivered: int | None, lag: int, now: float, watch: ProgressWatch) -> None:
    watch.observe("payments", 3, delivered=delivered, committed=4, lag=lag, now=now)


class TestStalls:
    def test_a_partition_with_lag_and_no_delivery_for_the_window_is_stalled(self) -> None:
        watch = ProgressWatch(stall_after_s=60)
        watch_at(None, lag=5, now=0.0, watch=watch)
        watch_at(None, lag=5, now=61.0, watch=watch)

        (stall,) = watch.stalled(now=61.0)
        assert (stall.topic, stall.partition, stall.lag) == ("payments", 3, 5)
        assert stall.to_dict() == {
            "delivered_offset": None,
            "committed_offset": 4,
            "lag": 5,
            "stalled_for_s": 61.0,
        }
        assert watch.stalled_seconds(now=61.0) == {("payments", 3): 61.0}

    @pytest.mark.parametrize(
        ("second_delivered", "second_lag", "why"),
        [
            (10, 5, "a busy partition draining a backlog delivers, so it is not stalled"),
            (9, 0, "a partition read to its end is not stalled, however long it is quiet"),
        ],
    )
    def test_progress_or_no_lag_resets_the_window(
        self, second_delivered: int, second_lag: int, why: str
    ) -> None:
        watch = ProgressWatch(stall_after_s=60)
        watch_at(9, lag=5, now=0.0, watch=watch)
        watch_at(second_delivered, lag=second_lag, now=59.0, watch=watch)
        watch_at(second_delivered, lag=5, now=100.0, watch=watch)

        assert watch.stalled(now=100.0) == [], why
        assert watch.stalled_seconds(now=100.0) == {("payments", 3): 0.0}

    def test_a_partition_no_longer_assigned_is_forgotten(self) -> None:
        watch = ProgressWatch(stall_after_s=1)
        watch_at(None, lag=5, now=0.0, watch=watch)
        watch.forget(set())

        assert watch.stalled(now=100.0) == []
        assert watch.stalled_seconds(now=100.0) == {}
