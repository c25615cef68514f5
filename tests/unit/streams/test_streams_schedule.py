"""When each borrower next crosses a boundary by aging alone (streams/schedule.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.schedule import AgingSchedule


def schedule_of(**instants: float) -> AgingSchedule:
    schedule = AgingSchedule()
    for borrower_id, instant in instants.items():
        schedule.set(borrower_id, instant)
    return schedule


class TestPoppingDueBorrowers:
    def test_pops_the_due_borrowers_earliest_first(self) -> None:
        schedule = schedule_of(b1=300.0, b2=100.0, b3=200.0, b4=900.0)
        assert schedule.pop_due(300.0) == ["b2", "b3", "b1"]
        assert len(schedule) == 1

    def test_an_instant_equal_to_now_is_due(self) -> None:
        assert schedule_of(b1=100.0).pop_due(100.0) == ["b1"]

    def test_nothing_is_due_before_its_instant(self) -> None:
        schedule = schedule_of(b1=100.0)
        assert schedule.pop_due(99.999) == []
        assert len(schedule) == 1

    def test_ties_come_out_in_borrower_order(self) -> None:
        assert schedule_of(b2=100.0, b1=100.0).pop_due(100.0) == ["b1", "b2"]

    def test_a_popped_borrower_is_gone_until_scheduled_again(self) -> None:
        schedule = schedule_of(b1=100.0)
        schedule.pop_due(100.0)
        assert (schedule.pop_due(1e12), len(schedule), schedule.next_instant()) == ([], 0, None)
        schedule.set("b1", 500.0)
        assert schedule.pop_due(500.0) == ["b1"]


class TestRescheduling:
    def test_rescheduling_later_leaves_no_trace_at_the_old_instant(self) -> None:
        schedule = schedule_of(b1=100.0)
        schedule.set("b1", 200.0)
        assert schedule.pop_due(150.0) == []
        assert schedule.pop_due(200.0) == ["b1"]

    def test_rescheduling_earlier_pops_once_at_the_new_instant(self) -> None:
        schedule = schedule_of(b1=200.0)
        schedule.set("b1", 50.0)
        assert schedule.pop_due(1000.0) == ["b1"]

    def test_returning_to_an_earlier_instant_still_pops_the_borrower_once(self) -> None:
        schedule = schedule_of(b1=100.0)
        schedule.set("b1", 200.0)
        schedule.set("b1", 100.0)
        assert schedule.pop_due(150.0) == ["b1"]
        assert schedule.pop_due(1000.0) == []

    def test_setting_the_same_instant_twice_schedules_once(self) -> None:
        schedule = schedule_of(b1=100.0)
        schedule.set("b1", 100.0)
        assert (len(schedule), schedule.pop_due(100.0)) == (1, ["b1"])

    def test_none_unschedules_the_borrower(self) -> None:
        schedule = schedule_of(b1=100.0, b2=200.0)
        schedule.set("b1", None)
        schedule.set("nobody", None)
        assert len(schedule) == 1
        assert schedule.pop_due(1000.0) == ["b2"]

    def test_next_instant_is_the_earliest_live_instant(self) -> None:
        schedule = schedule_of(b1=100.0, b2=200.0)
        schedule.set("b1", 300.0)
        assert schedule.next_instant() == 200.0


class TestCompaction:
    def test_many_reschedules_keep_the_heap_bounded_and_the_answers_right(self) -> None:
        schedule = AgingSchedule()
        for step in range(1000):
            schedule.set(f"b{step % 3}", float(1000 - step))
            assert len(schedule._heap) <= 4 * len(schedule) + 65
        # the last instants set: b0 at 1, b1 at 3, b2 at 2
        assert schedule.pop_due(2.0) == ["b0", "b2"]
        assert schedule.pop_due(1e9) == ["b1"]


# --- Property: the schedule behaves like a dict of borrower -> instant ------------------

borrowers = st.sampled_from([f"b{n}" for n in range(6)])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), borrowers, st.none() | st.integers(0, 40).map(float)),
        st.tuples(st.just("pop"), st.none(), st.integers(0, 40).map(float)),
    ),
    max_size=300,
)


class TestScheduleProperties:
    @settings(max_examples=200, deadline=None)
    @given(operations)
    def test_agrees_with_a_plain_dict_model_through_any_sequence_of_operations(
        self, ops: list[tuple[str, str | None, float | None]]
    ) -> None:
        schedule, model = AgingSchedule(), dict[str, float]()
        for op, borrower_id, value in ops:
            if op == "set":
                assert borrower_id is not None
                schedule.set(borrower_id, value)
                if value is None:
                    model.pop(borrower_id, None)
                else:
                    model[borrower_id] = value
            else:
                assert value is not None
                due = sorted((t, b) for b, t in model.items() if t <= value)
                assert schedule.pop_due(value) == [b for _, b in due]
                for _, b in due:
                    del model[b]
            assert len(schedule) == len(model)
            assert schedule.next_instant() == min(model.values(), default=None)
        assert schedule.pop_due(float("inf")) == [
            b for _, b in sorted((t, b) for b, t in model.items())
        ]
