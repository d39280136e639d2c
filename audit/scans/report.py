"""Recognise one JSON document as a scan report of a known format, by content alone.

Each format module (`bandit`, `pip_audit`, `safety`, `sarif`) exposes ``FORMAT`` and
``parse(document) -> findings | None``, and recognises only its own envelope, so at most
one of them claims a document; the order below is therefore not a priority.
"""

from __future__ import annotations

import json

from . import bandit, pip_audit, safety, sarif
from .model import ScanFinding

FORMATS = (bandit, pip_audit, safety, sarif)
"""Every understood format module."""


def load_json(data: bytes) -> object:
    """Decode one JSON document (UTF-8/16/32, BOM allowed); ValueError when it is not JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"not valid text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} at line {error.lineno} column {error.colno}") from None


def recognise(document: object) -> tuple[str, tuple[ScanFinding, ...]] | None:
    """(format, findings) of a decoded JSON document, or None when no format claims it.

    Raises `UnusableReport` when a format claims it but cannot read its findings.
    """
    for module in FORMATS:
        findings = module.parse(document)
        if findings is not None:
            return module.FORMAT, findings
    return None


def parse_report(data: bytes) -> tuple[str, tuple[ScanFinding, ...]] | None:
    """(format, findings) of one JSON document, or None when it is not a recognised report.

    Invalid JSON is simply not a report (None). Raises `UnusableReport` when the document
    is recognised as a report whose findings cannot be read.
    """
    try:
        document = load_json(data)
    except ValueError:
        return None
    return recognise(document)
