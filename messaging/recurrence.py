"""Recurring schedules: checking a campaign's `recurring_schedule` and finding its next run.

Pure functions of their arguments (no database, no clock), so they are tested on their own.

A schedule: `{"frequency": "daily" | "weekly" | "monthly", "time": "HH:MM", "timezone": IANA
name, "days_of_week": [0-6, Monday=0] (weekly), "day_of_month": 1-31 (monthly; a shorter month
runs on its last day), "start_at": ISO datetime, "end_at": ISO datetime (optional)}`. Runs are
at `time` on the wall clock of `timezone`, the first at or after `start_at`, none after `end_at`.
"""

import calendar
import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FREQUENCIES = ("daily", "weekly", "monthly")
KEYS = {"frequency", "time", "timezone", "days_of_week", "day_of_month", "start_at", "end_at"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# Monthly on the 31st is the furthest apart two runs get; a year bounds any search with room.
_SEARCH_DAYS = 400


class ScheduleError(ValueError):
    """A schedule that cannot run; the message says which part is wrong."""


def _zone(name) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ScheduleError("timezone must be an IANA name such as Africa/Dar_es_Salaam")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown timezone {name!r}") from exc


def _instant(value, zone: ZoneInfo, key: str) -> dt.datetime:
    """An ISO datetime in UTC; one without an offset is read on the schedule's wall clock."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ScheduleError(f"{key} must be an ISO datetime") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _matches(schedule: dict, day: dt.date) -> bool:
    frequency = schedule["frequency"]
    if frequency == "weekly":
        return day.weekday() in schedule["days_of_week"]
    if frequency == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(schedule["day_of_month"], last)
    return True


def _runs(schedule: dict, after: dt.datetime, default_tz: str):
    """The runs strictly after `after` (and not before `start_at`), in order, as UTC."""
    zone = _zone(schedule.get("timezone") or default_tz)
    hour, minute = (int(part) for part in schedule["time"].split(":"))
    start = _instant(schedule["start_at"], zone, "start_at") if schedule.get("start_at") else None
    floor = max(after, start) if start else after
    day = floor.astimezone(zone).date() - dt.timedelta(days=1)
    for offset in range(_SEARCH_DAYS):
        current = day + dt.timedelta(days=offset)
        if not _matches(schedule, current):
            continue
        # fold=0: a time skipped by DST runs an hour later, a time repeated runs the first time.
        local = dt.datetime.combine(current, dt.time(hour, minute), tzinfo=zone)
        moment = local.astimezone(dt.UTC)
        if moment > after and (start is None or moment >= start):
            yield moment


def next_run_after(schedule: dict, after: dt.datetime, default_tz: str) -> dt.datetime | None:
    """The first run strictly after `after` (aware UTC), or None when the schedule has ended."""
    moment = next(_runs(schedule, after, default_tz), None)
    if moment is None:
        return None
    end = schedule.get("end_at")
    zone = _zone(schedule.get("timezone") or default_tz)
    if end and moment > _instant(end, zone, "end_at"):
        return None
    return moment


def _whole(value, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScheduleError(f"{key} must be whole numbers from {low} to {high}")
    return value


def schedule_clean(schedule, *, default_tz: str, now: dt.datetime) -> dict:
    """A checked copy of `schedule` with every default written in (timezone, start_at, and the
    weekday or day of month of the first run), so later runs never depend on when it is read.
    Raises ScheduleError naming the first thing wrong."""
    if not isinstance(schedule, dict) or not schedule:
        raise ScheduleError("must be an object with frequency and time")
    unknown = sorted(set(schedule) - KEYS)
    if unknown:
        raise ScheduleError(f"unknown keys {unknown}; use {sorted(KEYS)}")
    frequency = schedule.get("frequency")
    if frequency not in FREQUENCIES:
        raise ScheduleError(f"frequency must be one of {list(FREQUENCIES)}")
    time = schedule.get("time")
    if not isinstance(time, str) or not _TIME.match(time):
        raise ScheduleError("time must be HH:MM on a 24-hour clock")
    zone = _zone(schedule.get("timezone", default_tz))
    clean = {"frequency": frequency, "time": time, "timezone": zone.key}
    if "days_of_week" in schedule and frequency != "weekly":
        raise ScheduleError("days_of_week is only for a weekly schedule")
    if "day_of_month" in schedule and frequency != "monthly":
        raise ScheduleError("day_of_month is only for a monthly schedule")
    if "days_of_week" in schedule:
        days = schedule["days_of_week"]
        if not isinstance(days, list) or not days:
            raise ScheduleError("days_of_week must be a non-empty list of 0 (Monday) to 6")
        clean["days_of_week"] = sorted({_whole(day, "days_of_week", 0, 6) for day in days})
    if "day_of_month" in schedule:
        clean["day_of_month"] = _whole(schedule["day_of_month"], "day_of_month", 1, 31)
    start = _instant(schedule.get("start_at") or now, zone, "start_at")
    clean["start_at"] = start.isoformat()
    if schedule.get("end_at") is not None:
        end = _instant(schedule["end_at"], zone, "end_at")
        if end <= start:
            raise ScheduleError("end_at must be after start_at")
        clean["end_at"] = end.isoformat()
    first = next_run_after({**clean, "frequency": "daily"}, now, zone.key)
    if first is not None and frequency == "weekly" and "days_of_week" not in clean:
        clean["days_of_week"] = [first.astimezone(zone).weekday()]
    if first is not None and frequency == "monthly" and "day_of_month" not in clean:
        clean["day_of_month"] = first.astimezone(zone).day
    if first is None or next_run_after(clean, now, zone.key) is None:
        raise ScheduleError("the schedule has no run left before end_at")
    return clean
