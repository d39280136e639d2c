"""Quarter parsing and boundaries, including time zones and year ends."""

from datetime import UTC, date, datetime

import pytest

from audit.errors import UsageError
from audit.quarter import Quarter


@pytest.mark.parametrize("text", ["2024Q5", "2024Q0", "24Q1", "2024-Q1", "", "2024q", "Q1 2024"])
def test_invalid_quarters_are_usage_errors(text):
    with pytest.raises(UsageError, match="expected YYYYQn"):
        Quarter.parse(text)


@pytest.mark.parametrize(
    ("text", "zone", "start", "end"),
    [
        ("2024Q2", "UTC", datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)),
        ("2024Q4", "UTC", datetime(2024, 10, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024Q1", "Europe/Berlin", datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2024, 3, 31, 22, tzinfo=UTC)),
        ("2024q3", "America/New_York", datetime(2024, 7, 1, 4, tzinfo=UTC), datetime(2024, 10, 1, 4, tzinfo=UTC)),
    ],
)
def test_bounds(text, zone, start, end):
    assert Quarter.parse(text).bounds(zone) == (start, end)


@pytest.mark.parametrize(
    ("day", "previous"),
    [(date(2025, 1, 2), "2024Q4"), (date(2024, 4, 1), "2024Q1"), (date(2024, 12, 31), "2024Q3")],
)
def test_previous_quarter_across_year_boundaries(day, previous):
    assert str(Quarter.containing(day).previous()) == previous
