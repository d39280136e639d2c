"""One severity scale for every scanner: ``low < medium < high < critical``.

DESIGN §4 (contract): a CVSS-style score maps ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium,
else low (the CVSS v3 qualitative bands, which GitHub also uses for SARIF
``security-severity``: https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning#reportingdescriptor-object).
A vulnerability whose severity is unknown counts as ``high``: it is not waved through.
"""

from __future__ import annotations

import math

SEVERITIES = ("low", "medium", "high", "critical")
"""The scale, lowest first."""

UNKNOWN_SEVERITY = "high"
"""What a known vulnerability or finding of unstated severity counts as."""

_LABELS = {
    "low": "low",
    "medium": "medium",
    "moderate": "medium",
    "high": "high",
    "critical": "critical",
    # CVSS v3 "None" is a score of 0.0, the bottom band.
    "none": "low",
}


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` is at or above ``threshold`` on `SEVERITIES`.

    Both must be one of `SEVERITIES` (any case); anything else raises ValueError rather
    than guessing.
    """
    return _rank(severity) >= _rank(threshold)


def _rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity.lower())
    except (AttributeError, ValueError):
        raise ValueError(f"unknown severity {severity!r}: expected one of {', '.join(SEVERITIES)}") from None


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
