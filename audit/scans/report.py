"""Recognise one JSON document as a scan report of a known format, by content alone.

Each format module (`bandit`, `pip_audit`, `safety`, `sarif`, `semgrep`) exposes ``FORMAT``
and ``parse(document) -> ScanReport | None``, and recognises only its own envelope, so at
most one of them claims a document; the order below is therefore not a priority.

Two cases need more than the content:

- A bare ``[]`` is the clean report of safety 1.x and of pip-audit before 2.0, and also any
  other empty list. It is recognised only when the file's name names the tool.
- A report printed with text around it (safety 3 ``check --output json`` on stdout puts a
  deprecation banner before and after the JSON) is recovered by `recover_report` when
  exactly one recognised report can be cut out of the text, and nothing else.
"""

from __future__ import annotations

import codecs
import json
import re

from . import bandit, pip_audit, safety, sarif, semgrep
from .model import ScanReport

FORMATS = (bandit, pip_audit, safety, sarif, semgrep)
"""Every understood format module."""

_EMPTY_LIST_OWNERS = (
    (safety.FORMAT, re.compile(r"safety", re.IGNORECASE)),
    (pip_audit.FORMAT, re.compile(r"pip[-_ ]?audit", re.IGNORECASE)),
)
"""Whose clean report a bare ``[]`` is, by the file's name."""

_DOCUMENT_START = re.compile(r"^[\[{]", re.MULTILINE)
"""Where a recovered document may start: a bracket at the very start of a line, as a
report printed whole starts (its own nested lines are indented, so never match)."""


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


def recognise(document: object, name: str | None = None) -> ScanReport | None:
    """The scan report a decoded JSON document is, or None when no format claims it.

    ``name`` is the file's name, used only to tell whose clean ``[]`` it is. Raises
    `UnusableReport` when a format claims the document but cannot read its findings.
    """
    if document == [] and name is not None:
        for scan_format, pattern in _EMPTY_LIST_OWNERS:
            if pattern.search(name):
                return ScanReport(scan_format, ())
        return None
    for module in FORMATS:
        report = module.parse(document)
        if report is not None:
            return report
    return None


def recover_report(data: bytes, name: str | None = None) -> ScanReport | None:
    """The one scan report embedded in text that is not JSON as a whole, or None.

    Every place where a line starts with ``{`` or ``[`` is tried as the start of a JSON
    document that ends at the end of a line. The report is recovered only when exactly one
    of the documents found is a recognised report; none, or two (which one would be the
    evidence?), give None. Raises `UnusableReport` like `recognise`.
    """
    text = _text(data)
    if text is None:
        return None
    decoder = json.JSONDecoder()
    reports: list[ScanReport] = []
    resume_at = 0
    for match in _DOCUMENT_START.finditer(text):
        if match.start() < resume_at:
            continue
        try:
            document, end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        line_end = text.find("\n", end)
        if text[end : line_end if line_end >= 0 else len(text)].strip():
            continue
        resume_at = end
        report = recognise(document, name)
        if report is not None:
            reports.append(report)
    return reports[0] if len(reports) == 1 else None


def parse_report(data: bytes, name: str | None = None) -> ScanReport | None:
    """The scan report in one file's bytes, or None when it is not a recognised report.

    Invalid JSON is simply not a report (None). Raises `UnusableReport` when the document
    is recognised as a report whose findings cannot be read.
    """
    try:
        document = load_json(data)
    except ValueError:
        return None
    return recognise(document, name)


def _text(data: bytes) -> str | None:
    """The bytes as text: UTF-16 by its byte-order mark, else UTF-8 (BOM allowed); None if neither."""
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None
