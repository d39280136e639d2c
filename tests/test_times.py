"""One time-zone model: the configured zone (IANA or "UTC+3") decides the quarter's boundaries,
the times the report shows, and which quarter `soc2-audit quarter` calls today."""

from datetime import UTC, datetime, timedelta

import pytest

from audit import pipeline, times
from audit.cli import main
from audit.quarter import Quarter
from audit.render import view

LATE_ON_30_JUNE = datetime(2024, 6, 30, 22, 0, tzinfo=UTC)
"""Still 2024Q2 in UTC, already 1 July (2024Q3) at UTC+3."""


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: LATE_ON_30_JUNE)


@pytest.mark.parametrize("name", ["UTC+3", "Europe/Moscow", "Etc/GMT-3"])
def test_every_spelling_of_a_zone_means_the_same_offset(name):
    assert times.zone(name).utcoffset(LATE_ON_30_JUNE) == timedelta(hours=3)


def test_quarter_boundaries_and_report_times_share_the_zone():
    start, _ = Quarter(2024, 3).bounds("UTC+3")
    assert start == datetime(2024, 6, 30, 21, 0, tzinfo=UTC)
    zone = view.report_zone({"period": {"timezone": "UTC+3"}})
    assert view.local_time("2024-04-01T11:52:57+00:00", zone) == "2024-04-01 14:52"
    assert view.local_time(start.isoformat(), zone, seconds=True) == "2024-07-01 00:00:00"


def test_today_is_taken_in_the_zone(clock):
    assert pipeline.quarter_of(timezone="UTC") == Quarter(2024, 2)
    assert pipeline.quarter_of(timezone="UTC+3") == Quarter(2024, 3)


def test_quarter_command_honours_the_configured_zone(clock, tmp_path, monkeypatch, capsys):
    (tmp_path / "audit.toml").write_text('timezone = "UTC+3"\n')
    monkeypatch.setenv("AUDIT_CONFIG", str(tmp_path / "audit.toml"))
    with pytest.raises(SystemExit) as exited:
        main(["quarter"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "2024Q3"
    with pytest.raises(SystemExit):
        main(["quarter", "--timezone", "UTC"])
    assert capsys.readouterr().out.strip() == "2024Q2"
