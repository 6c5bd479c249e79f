"""messaging.recurrence: next runs across time zones, DST, month and year ends, end_at, and
the schedule checks. No database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.recurrence import ScheduleError, next_run_after, schedule_clean

DAR = "Africa/Dar_es_Salaam"
UTC = dt.UTC


def at(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def runs(schedule: dict, after: dt.datetime, count: int, tz: str = DAR) -> list[dt.datetime]:
    found = []
    for _ in range(count):
        after = next_run_after(schedule, after, tz)
        if after is None:
            break
        found.append(after)
    return found


def test_a_daily_run_at_nine_in_dar_es_salaam_is_six_utc():
    schedule = {"frequency": "daily", "time": "09:00"}

    assert runs(schedule, at(2026, 3, 1, 5, 0), 2) == [at(2026, 3, 1, 6), at(2026, 3, 2, 6)]
    assert next_run_after(schedule, at(2026, 3, 1, 6, 0), DAR) == at(2026, 3, 2, 6)  # strictly


def test_london_keeps_the_wall_clock_across_both_dst_changes():
    schedule = {"frequency": "daily", "time": "09:00", "timezone": "Europe/London"}

    # Clocks go forward on 2026-03-29 and back on 2026-10-25.
    assert runs(schedule, at(2026, 3, 28, 12), 2) == [at(2026, 3, 29, 8), at(2026, 3, 30, 8)]
    assert runs(schedule, at(2026, 10, 24, 12), 2) == [at(2026, 10, 25, 9), at(2026, 10, 26, 9)]


def test_a_time_skipped_or_repeated_by_dst_runs_once():
    schedule = {"frequency": "daily", "time": "01:30", "timezone": "Europe/London"}

    # 01:30 does not exist on 2026-03-29 (it runs at 02:30 BST) and happens twice on 10-25.
    assert next_run_after(schedule, at(2026, 3, 28, 12), DAR) == at(2026, 3, 29, 1, 30)
    assert runs(schedule, at(2026, 10, 24, 12), 2) == [
        at(2026, 10, 25, 0, 30),
        at(2026, 10, 26, 1, 30),
    ]


def test_monthly_on_the_31st_falls_back_to_the_last_day_and_returns():
    schedule = {"frequency": "monthly", "time": "12:00", "timezone": "UTC", "day_of_month": 31}

    assert runs(schedule, at(2026, 12, 31, 13), 4) == [
        at(2027, 1, 31, 12),
        at(2027, 2, 28, 12),
        at(2027, 3, 31, 12),
        at(2027, 4, 30, 12),
    ]
    assert next_run_after(schedule, at(2028, 1, 31, 13), DAR) == at(2028, 2, 29, 12)  # leap


def test_weekly_runs_on_the_chosen_days():
    schedule = {"frequency": "weekly", "time": "08:00", "timezone": "UTC", "days_of_week": [0, 4]}

    # 2026-03-02 is a Monday.
    assert runs(schedule, at(2026, 3, 1), 3) == [
        at(2026, 3, 2, 8),
        at(2026, 3, 6, 8),
        at(2026, 3, 9, 8),
    ]


def test_start_at_and_end_at_bound_the_runs():
    schedule = {
        "frequency": "daily",
        "time": "06:00",
        "timezone": "UTC",
        "start_at": "2026-03-05T00:00:00+00:00",
        "end_at": "2026-03-06T23:00:00+00:00",
    }

    assert runs(schedule, at(2026, 3, 1), 5) == [at(2026, 3, 5, 6), at(2026, 3, 6, 6)]


def test_clean_writes_the_defaults_in():
    now = at(2026, 3, 4, 10)  # a Wednesday, 13:00 in Dar es Salaam

    weekly = schedule_clean({"frequency": "weekly", "time": "09:00"}, default_tz=DAR, now=now)
    monthly = schedule_clean({"frequency": "monthly", "time": "14:00"}, default_tz=DAR, now=now)

    assert weekly == {
        "frequency": "weekly",
        "time": "09:00",
        "timezone": DAR,
        "start_at": now.isoformat(),
        "days_of_week": [3],  # 09:00 has passed today: the first run is Thursday
    }
    assert monthly["day_of_month"] == 4


@pytest.mark.parametrize(
    ("schedule", "complaint"),
    [
        ({}, "frequency"),
        ({"frequency": "hourly", "time": "09:00"}, "frequency"),
        ({"frequency": "daily", "time": "9am"}, "HH:MM"),
        ({"frequency": "daily", "time": "24:00"}, "HH:MM"),
        ({"frequency": "daily", "time": "09:00", "timezone": "Mars/Olympus"}, "timezone"),
        ({"frequency": "weekly", "time": "09:00", "days_of_week": [7]}, "days_of_week"),
        ({"frequency": "weekly", "time": "09:00", "days_of_week": []}, "days_of_week"),
        ({"frequency": "daily", "time": "09:00", "days_of_week": [1]}, "only for a weekly"),
        ({"frequency": "monthly", "time": "09:00", "day_of_month": 0}, "day_of_month"),
        ({"frequency": "monthly", "time": "09:00", "day_of_month": True}, "day_of_month"),
        ({"frequency": "daily", "time": "09:00", "start_at": "soon"}, "start_at"),
        ({"frequency": "daily", "time": "09:00", "end_at": "2020-01-01T00:00"}, "end_at"),
        ({"frequency": "daily", "time": "09:00", "every": 2}, "unknown keys"),
        ("daily", "object"),
    ],
)
def test_bad_schedules_name_what_is_wrong(schedule, complaint):
    with pytest.raises(ScheduleError, match=complaint):
        schedule_clean(schedule, default_tz=DAR, now=at(2026, 3, 4))


ZONES = st.sampled_from([DAR, "Europe/London", "America/New_York", "Australia/Sydney", "UTC"])


@settings(max_examples=150, deadline=None)
@given(
    zone=ZONES,
    frequency=st.sampled_from(["daily", "weekly", "monthly"]),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    day_of_month=st.integers(1, 31),
    days=st.sets(st.integers(0, 6), min_size=1),
    after=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(UTC)),
)
def test_every_next_run_is_later_on_a_matching_day(
    zone, frequency, hour, minute, day_of_month, days, after
):
    schedule = {"frequency": frequency, "time": f"{hour:02}:{minute:02}", "timezone": zone}
    schedule |= {
        "weekly": {"days_of_week": sorted(days)},
        "monthly": {"day_of_month": day_of_month},
    }.get(frequency, {})

    moment = next_run_after(schedule, after, DAR)

    assert moment > after and moment - after <= dt.timedelta(days=32)
    local = moment.astimezone(ZoneInfo(zone))
    if frequency == "weekly":
        assert local.weekday() in days
    if frequency == "monthly":
        assert local.day == day_of_month or (local + dt.timedelta(days=1)).day == 1
    # The wall clock is kept, except where DST skipped that time (then it is an hour later).
    assert (local.hour, local.minute) in ((hour, minute), ((hour + 1) % 24, minute))
