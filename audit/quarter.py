"""Calendar quarters: parsing `YYYYQn` and computing their `[start, end)` boundaries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from audit import times
from audit.errors import UsageError

_QUARTER = re.compile(r"^(?P<year>\d{4})Q(?P<number>[1-4])$")


@dataclass(frozen=True)
class Quarter:
    """One calendar quarter, e.g. 2024Q2."""

    year: int
    """Calendar year, e.g. 2024."""
    number: int
    """1 to 4."""

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Parse `YYYYQn`; anything else is a `UsageError` naming the expected form."""
        match = _QUARTER.match(text.strip().upper()) if isinstance(text, str) else None
        if not match:
            raise UsageError(f"invalid quarter {text!r}: expected YYYYQn with n from 1 to 4, e.g. 2024Q2")
        return cls(int(match["year"]), int(match["number"]))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        """The quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def previous(self) -> Quarter:
        """The quarter before this one (2025Q1 -> 2024Q4)."""
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def next(self) -> Quarter:
        """The quarter after this one (2024Q4 -> 2025Q1)."""
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def first_day(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    def bounds(self, zone: str | tzinfo = "UTC") -> tuple[datetime, datetime]:
        """`[start, end)` as aware UTC datetimes, the quarter taken in time zone `zone`."""
        zone_info = zone if isinstance(zone, tzinfo) else times.zone(zone)
        if zone_info is None:
            raise UsageError(f"unknown time zone {zone!r}: use an IANA name such as Europe/Berlin")
        start_day, end_day = self.first_day(), self.next().first_day()
        start = datetime(start_day.year, start_day.month, 1, tzinfo=zone_info)
        end = datetime(end_day.year, end_day.month, 1, tzinfo=zone_info)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"
