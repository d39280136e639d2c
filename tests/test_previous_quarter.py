"""`soc2-audit quarter`: the quarter a scheduled job reports on, across year boundaries.

The quarterly workflow runs on the 2nd of January, April, July and October and reports on
`soc2-audit quarter --previous`; these cases go through the real CLI.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.conftest import clean_env, run_cli


@pytest.mark.parametrize(
    ("day", "previous", "expected"),
    [
        ("2025-01-02", True, "2024Q4"),  # the January run reports on last year's Q4
        ("2025-01-01", True, "2024Q4"),
        ("2024-12-31", True, "2024Q3"),
        ("2024-12-31", False, "2024Q4"),
        ("2025-01-01", False, "2025Q1"),
        ("2024-04-01", True, "2024Q1"),
        ("2024-03-31", True, "2023Q4"),
        ("2024-07-02", True, "2024Q2"),
        ("2024-10-02", True, "2024Q3"),
        ("2024-02-29", True, "2023Q4"),  # leap day
        ("2000-01-02", True, "1999Q4"),
    ],
)
def test_quarter_across_year_boundaries(tmp_path, day, previous, expected):
    args = ["quarter", "--date", day] + (["--previous"] if previous else [])
    result = run_cli(*args, cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n"


def test_default_is_today_in_utc(tmp_path):
    before = datetime.now(UTC).date()
    result = run_cli("quarter", cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    after = datetime.now(UTC).date()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in (before, after)}


def test_timezone_is_accepted(tmp_path):
    result = run_cli("quarter", "--previous", "--timezone", "Pacific/Kiritimati", cwd=tmp_path, env=clean_env(tmp_path))
    assert result.returncode == 0 and re.fullmatch(r"\d{4}Q[1-4]\n", result.stdout), result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--date", "2025-13-01"], "invalid date '2025-13-01'"),
        (["--date", "02/01/2025"], "invalid date '02/01/2025'"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expected):
    result = run_cli("quarter", *args, cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
