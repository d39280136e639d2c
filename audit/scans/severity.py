"""The one severity scale of the project: ``low < medium < high < critical``.

Every scan format maps its own field onto this scale when it is parsed, config
``max_severity`` is checked against it, and ``scan.clean`` compares with it. There is no
other copy of the scale.

- A CVSS-style score maps ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, else low (the CVSS v3
  qualitative bands, which GitHub also uses for SARIF ``security-severity``).
- **Unknown severity has one meaning: `UNKNOWN_SEVERITY`, high.** It applies to a finding
  whose tool states no severity (pip-audit, safety 1.x, an advisory without CVSS data) and
  to a stored severity that is not on the scale. A known vulnerability of unknown severity
  is not waved through, and it is not made worse than a finding the tool itself calls
  critical.
- A *threshold* (config ``max_severity``) must be on the scale: `parse_threshold` refuses
  anything else, so a typo never silently changes what fails.
"""

from __future__ import annotations

import math

SEVERITIES = ("low", "medium", "high", "critical")
"""The scale, lowest first."""

UNKNOWN_SEVERITY = "high"
"""What a finding of unknown or unstated severity counts as."""

_LABELS = {
    "low": "low",
    "medium": "medium",
    "moderate": "medium",
    "high": "high",
    "critical": "critical",
    # CVSS v3 "None" is a score of 0.0, the bottom band.
    "none": "low",
}


def parse_threshold(value: object) -> str:
    """A threshold named on the scale (any case), lower-cased; ValueError for anything else."""
    if isinstance(value, str) and value.strip().lower() in SEVERITIES:
        return value.strip().lower()
    raise ValueError(f"unknown severity {value!r}: expected one of {', '.join(SEVERITIES)}")


def normalised(severity: object) -> str:
    """A finding's severity on the scale; `UNKNOWN_SEVERITY` when it is not on it."""
    if isinstance(severity, str) and severity.strip().lower() in SEVERITIES:
        return severity.strip().lower()
    return UNKNOWN_SEVERITY


def rank(severity: object) -> int:
    """Position of a finding's severity on the scale (0 = low), unknown counted as high."""
    return SEVERITIES.index(normalised(severity))


def severity_at_least(severity: object, threshold: str) -> bool:
    """True when a finding's ``severity`` is at or above ``threshold``.

    The threshold must be on the scale (ValueError otherwise); the finding's severity
    follows `normalised`, so an unknown one counts as high.
    """
    return rank(severity) >= SEVERITIES.index(parse_threshold(threshold))


def from_score(score: object) -> str | None:
    """Map a CVSS-style score (number or numeric string, 0–10) to the scale.

    None when the value is not a finite number, so the caller can fall back.
    """
    if isinstance(score, bool):
        return None
    if isinstance(score, str):
        try:
            score = float(score.strip())
        except ValueError:
            return None
    if not isinstance(score, int | float) or not math.isfinite(score):
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def from_label(label: object) -> str | None:
    """Map a severity word (``CRITICAL``, ``High``, ``moderate`` …) to the scale, else None."""
    if not isinstance(label, str):
        return None
    return _LABELS.get(label.strip().lower())
