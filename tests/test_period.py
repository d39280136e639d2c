"""Audit periods: every accepted form, its boundaries in a time zone, and its quarters."""

from datetime import UTC, date, datetime

import pytest

from audit.errors import UsageError
from audit.period import Period


@pytest.mark.parametrize(
    ("text", "label", "first", "last"),
    [
        ("2024Q2", "2024Q2", date(2024, 4, 1), date(2024, 6, 30)),
        ("2024q4", "2024Q4", date(2024, 10, 1), date(2024, 12, 31)),
        ("2024H1", "2024H1", date(2024, 1, 1), date(2024, 6, 30)),
        ("2024H2", "2024H2", date(2024, 7, 1), date(2024, 12, 31)),
        ("2024", "2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-01-01..2024-12-31", "2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-04-01..2024-06-30", "2024Q2", date(2024, 4, 1), date(2024, 6, 30)),
        ("2024-07-01..2024-12-31", "2024H2", date(2024, 7, 1), date(2024, 12, 31)),
        ("2024-01-15..2024-03-31", "2024-01-15..2024-03-31", date(2024, 1, 15), date(2024, 3, 31)),
        ("2024-02-29..2024-02-29", "2024-02-29..2024-02-29", date(2024, 2, 29), date(2024, 2, 29)),
        ("2023-10-01..2024-09-30", "2023-10-01..2024-09-30", date(2023, 10, 1), date(2024, 9, 30)),
    ],
)
def test_accepted_forms(text, label, first, last):
    period = Period.parse(text)
    assert (str(period), period.first_day, period.last_day) == (label, first, last)
    assert Period.parse(str(period)) == period


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024Q5", "expected YYYYQn, YYYYH1|H2, YYYY"),
        ("2024H3", "expected YYYYQn"),
        ("24", "expected YYYYQn"),
        ("2024-01-01", "expected YYYYQn"),
        ("2024-01-01...2024-02-01", "expected YYYYQn"),
        ("", "expected YYYYQn"),
        ("2024-02-30..2024-03-31", "not a calendar date"),
        ("2024-06-30..2024-01-01", "the last day is before the first"),
    ],
)
def test_anything_else_is_a_usage_error(text, message):
    with pytest.raises(UsageError, match=message):
        Period.parse(text)


@pytest.mark.parametrize(
    ("text", "zone", "start", "end"),
    [
        ("2024", "UTC", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024H1", "Europe/Berlin", datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2024, 6, 30, 22, tzinfo=UTC)),
        (
            "2024-03-10..2024-03-10",
            "America/New_York",  # the day clocks sprang forward: 23 hours long
            datetime(2024, 3, 10, 5, tzinfo=UTC),
            datetime(2024, 3, 11, 4, tzinfo=UTC),
        ),
    ],
)
def test_bounds_are_whole_days_in_the_time_zone(text, zone, start, end):
    assert Period.parse(text).bounds(zone) == (start, end)


def test_quarters_a_period_touches():
    assert [str(q) for q in Period.parse("2024").quarters()] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert [str(q) for q in Period.parse("2024-03-31..2024-04-01").quarters()] == ["2024Q1", "2024Q2"]
    assert [str(q) for q in Period.parse("2024Q3").quarters()] == ["2024Q3"]


def test_overlap():
    year = Period.parse("2024")
    assert year.overlaps(Period.parse("2024Q4")) and Period.parse("2024Q1").overlaps(year)
    assert not Period.parse("2024H1").overlaps(Period.parse("2024Q3"))
    assert not year.overlaps(Period.parse("2025Q1"))
