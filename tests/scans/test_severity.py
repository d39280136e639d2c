"""The one severity scale: ordering and refusal of unknown names."""

import pytest

from audit.scans import SEVERITIES, severity_at_least
from audit.scans.severity import UNKNOWN_SEVERITY, from_label, from_score, normalised, rank


def test_scale_lowest_first():
    assert SEVERITIES == ("low", "medium", "high", "critical")


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("critical", "high", True),
        ("high", "high", True),
        ("medium", "high", False),
        ("low", "low", True),
        ("low", "medium", False),
        ("critical", "critical", True),
        ("HIGH", "high", True),
    ],
)
def test_severity_at_least(severity, threshold, expected):
    assert severity_at_least(severity, threshold) is expected


@pytest.mark.parametrize("threshold", ["severe", None, "", "HIGH!"])
def test_a_threshold_off_the_scale_is_refused(threshold):
    with pytest.raises(ValueError, match="unknown severity"):
        severity_at_least("high", threshold)


@pytest.mark.parametrize("severity", ["severe", "UNDEFINED", None, "", 7])
def test_unknown_finding_severity_has_one_meaning_high(severity):
    assert normalised(severity) == UNKNOWN_SEVERITY == "high"
    assert rank(severity) == rank("high")
    assert severity_at_least(severity, "high") is True
    assert severity_at_least(severity, "critical") is False


def test_config_and_control_share_the_scale():
    from audit import config
    from audit.controls import scan_clean

    assert config.SEVERITIES is SEVERITIES
    assert scan_clean.SEVERITIES is SEVERITIES


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (9.0, "critical"),
        (8.9, "high"),
        (7.0, "high"),
        (6.99, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        ("9.0", "critical"),
        (" 4 ", "medium"),
        (True, None),
        ("high", None),
        ("inf", None),
        (None, None),
    ],
)
def test_from_score(score, expected):
    assert from_score(score) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [("CRITICAL", "critical"), ("Moderate", "medium"), ("NONE", "low"), ("unknown", None), (7, None)],
)
def test_from_label(label, expected):
    assert from_label(label) == expected
