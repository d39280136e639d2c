"""Times: one time-zone model and one way to write and read ISO 8601.

Zones are python-dateutil's: `zone("Europe/Berlin")` and `zone("UTC+3")` both work, and the
quarter boundaries, the report's times and `soc2-audit quarter` all take them from here, so
a configured zone means the same thing everywhere. The store keeps GitHub's UTC form
("2024-04-01T11:52:57Z") and compares it as text; findings.json writes offsets ("+00:00").
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from dateutil import tz


def zone(name: str) -> tzinfo | None:
    """The time zone called `name` (an IANA name, or "UTC+3"-style); None when unknown."""
    return tz.gettz(name) if name else None


def utc_now() -> datetime:
    """The current time, aware, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def iso_z(moment: datetime) -> str:
    """GitHub's timestamp form in UTC, which the store keeps and compares as text."""
    return (moment.astimezone(UTC) if moment.tzinfo is not None else moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with its offset (findings.json's form); None stays None."""
    return moment.isoformat() if moment is not None else None


def parse(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (GitHub's trailing Z included); None or "" is None."""
    return datetime.fromisoformat(value) if value else None
