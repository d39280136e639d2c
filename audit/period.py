"""Audit periods: a quarter, a half-year, a year or an inclusive date range.

A SOC 2 Type II report covers an audit period, usually 6 or 12 months. A period is a run
of whole days `[first_day, end_day)` taken in the configured time zone; its label names the
output folder, the files' period and the stored evaluation. A range that is exactly a
quarter, a half or a year gets that shorter label, so `2024-04-01..2024-06-30` and `2024Q2`
are one period with one evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from dateutil import tz

from audit.errors import UsageError
from audit.quarter import Quarter

_QUARTER = re.compile(r"^(?P<year>\d{4})Q(?P<number>[1-4])$")
_HALF = re.compile(r"^(?P<year>\d{4})H(?P<number>[12])$")
_YEAR = re.compile(r"^(?P<year>\d{4})$")
_RANGE = re.compile(r"^(?P<first>\d{4}-\d{2}-\d{2})\.\.(?P<last>\d{4}-\d{2}-\d{2})$")

EXPECTED = "expected YYYYQn, YYYYH1|H2, YYYY or YYYY-MM-DD..YYYY-MM-DD, e.g. 2024Q2, 2024H1, 2024"


@dataclass(frozen=True)
class Period:
    """Whole days `[first_day, end_day)`, e.g. 2024Q2, 2024H1, 2024 or 2024-01-15..2024-03-31."""

    first_day: date
    """The first day in the period."""
    end_day: date
    """The day after the last day in the period (exclusive)."""

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse any accepted form; anything else is a `UsageError` naming the forms."""
        value = text.strip().upper() if isinstance(text, str) else ""
        if match := _QUARTER.match(value):
            quarter = Quarter(int(match["year"]), int(match["number"]))
            return cls(quarter.first_day(), quarter.next().first_day())
        if match := _HALF.match(value):
            year, half = int(match["year"]), int(match["number"])
            return cls(date(year, 6 * half - 5, 1), date(year, 7, 1) if half == 1 else date(year + 1, 1, 1))
        if match := _YEAR.match(value):
            return cls(date(int(match["year"]), 1, 1), date(int(match["year"]) + 1, 1, 1))
        if match := _RANGE.match(value):
            try:
                first, last = date.fromisoformat(match["first"]), date.fromisoformat(match["last"])
            except ValueError:
                raise UsageError(f"invalid period {text!r}: not a calendar date") from None
            if last < first:
                raise UsageError(f"invalid period {text!r}: the last day is before the first")
            return cls(first, last + timedelta(days=1))
        raise UsageError(f"invalid period {text!r}: {EXPECTED}")

    @classmethod
    def of_quarter(cls, quarter: Quarter) -> Period:
        return cls(quarter.first_day(), quarter.next().first_day())

    @property
    def last_day(self) -> date:
        """The last day in the period (inclusive)."""
        return self.end_day - timedelta(days=1)

    @property
    def label(self) -> str:
        """`2024Q2`, `2024H1`, `2024`, else `2024-01-15..2024-03-31`."""
        first, end = self.first_day, self.end_day
        if first.day == 1 and end.day == 1:
            if first.month == 1 and end == date(first.year + 1, 1, 1):
                return str(first.year)
            if first.month in (1, 7) and end == _month_after(first, 6):
                return f"{first.year}H{1 if first.month == 1 else 2}"
            if first.month in (1, 4, 7, 10) and end == _month_after(first, 3):
                return str(Quarter.containing(first))
        return f"{first.isoformat()}..{self.last_day.isoformat()}"

    def bounds(self, zone: str | tzinfo = "UTC") -> tuple[datetime, datetime]:
        """`[start, end)` as aware UTC datetimes, the days taken in time zone `zone`."""
        zone_info = zone if isinstance(zone, tzinfo) else tz.gettz(zone)
        if zone_info is None:
            raise UsageError(f"unknown time zone {zone!r}: use an IANA name such as Europe/Berlin")
        start = datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=zone_info)
        end = datetime(self.end_day.year, self.end_day.month, self.end_day.day, tzinfo=zone_info)
        return start.astimezone(UTC), end.astimezone(UTC)

    def quarters(self) -> tuple[Quarter, ...]:
        """The calendar quarters the period touches, in order (for the trend view)."""
        quarters, quarter = [], Quarter.containing(self.first_day)
        while quarter.first_day() < self.end_day:
            quarters.append(quarter)
            quarter = quarter.next()
        return tuple(quarters)

    def overlaps(self, other: Period) -> bool:
        return self.first_day < other.end_day and other.first_day < self.end_day

    def __str__(self) -> str:
        return self.label


def _month_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, 1)


def as_period(value: Period | Quarter) -> Period:
    """A `Period` for either a period or a quarter (callers written for quarters keep working)."""
    return value if isinstance(value, Period) else Period.of_quarter(value)
