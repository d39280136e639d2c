"""Inspect a workflow artifact (zip bytes from GitHub) for security-scan evidence.

The zip is untrusted. It is read in memory only: nothing is extracted, member names are
never used as paths (names with ``..``, absolute paths or backslashes are only noted),
nested archives are never opened, and every member is read through a streaming cap,
whatever its header claims. Size caps, a compression-ratio cap (zip bombs) and a member
count cap make an artifact unreadable rather than exhausting the machine.

An artifact is scan evidence when one of its JSON members is recognised by content
(`audit.scans.report`), whatever the artifact or member is called. A member is read when
its name ends in ``.json`` or ``.sarif``, its content starts like JSON, or its name says it
was meant to be a scan report (`audit.scans.names`). A report with text around it is
recovered when that is safe (`audit.scans.report.recover_report`), and the recovery noted.

The scan evidence of an artifact is *incomplete* (``gaps``) when a member meant to be a
report gives no readable report, or a recognised report scanned nothing. ``scan.clean``
never passes on incomplete evidence.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import lzma
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from .model import CAPTURED, NOT_SCAN, UNREADABLE, ArtifactScan, ScanReport, UnusableReport
from .names import meant_as_report
from .report import load_json, recognise, recover_report

MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 1000

RATIO_FLOOR_BYTES = 1024 * 1024
"""Members expanding to less than this are never called zip bombs: a small, very
repetitive JSON file can legitimately compress better than `MAX_RATIO`:1, and the size
caps already bound what it can cost."""

JSON_SUFFIXES = (".json", ".sarif")
ZIP_SUFFIXES = (".zip",)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_JSON_STARTS = (b"{", b"[")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CHUNK_BYTES = 64 * 1024
_ENCRYPTED_FLAG = 0x1
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_NAMES_SHOWN = 3
_NAME_CHARS_SHOWN = 120

# What a corrupt or hostile zip can raise from zipfile and its decompressors.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


@dataclass(frozen=True)
class _Limits:
    max_member_bytes: int
    max_total_bytes: int
    max_ratio: float
    max_members: int


class _Unreadable(Exception):
    """Stops inspection: the artifact as a whole is unreadable, for the reason given."""


@dataclass
class _Inventory:
    """What the members turned out to be, for the status and the detail."""

    artifact_name: str | None = None
    members: int = 0
    reports: list[tuple[str, ScanReport]] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    """Why the scan evidence is incomplete: one reason per member, naming it."""
    invalid_json: list[tuple[str, str]] = field(default_factory=list)
    unsafe_names: list[str] = field(default_factory=list)
    nested_archives: list[str] = field(default_factory=list)
    unrecognised_json: int = 0


def inspect_artifact(
    zip_bytes: bytes,
    *,
    artifact_name: str | None = None,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_ratio: float = MAX_RATIO,
    max_members: int = MAX_MEMBERS,
) -> ArtifactScan:
    """Decide whether an artifact zip holds scan reports, and parse them.

    Status ``captured`` when at least one member is a recognised report (its findings
    are all returned), ``not_scan`` when the zip is readable but holds none, and
    ``unreadable`` when it is not a zip, breaks a cap, is corrupt or encrypted, or holds
    no readable report but a member meant to be one (by its name, extension or
    ``artifact_name``) or a ``.json`` member that is not valid JSON. ``gaps`` say why the
    scan evidence of a captured artifact is incomplete.
    """
    limits = _Limits(max_member_bytes, max_total_bytes, max_ratio, max_members)
    digest = hashlib.sha256(zip_bytes).hexdigest()

    def scan(status: str, detail: str, inventory: _Inventory | None = None) -> ArtifactScan:
        reports = inventory.reports if inventory is not None else []
        formats = sorted({report.scan_format for _, report in reports})
        return ArtifactScan(
            status=status,
            scan_format=",".join(formats) or None,
            findings=tuple(f for _, report in reports for f in report.findings),
            detail=detail,
            sha256=digest,
            size=len(zip_bytes),
            gaps=tuple(inventory.gaps) if inventory is not None else (),
            recovered=tuple(inventory.recovered) if inventory is not None else (),
        )

    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            inventory = _inventory(archive, limits, artifact_name)
    except _Unreadable as reason:
        return scan(UNREADABLE, str(reason))
    except _ZIP_ERRORS as error:
        return scan(UNREADABLE, f"not a readable zip archive ({_describe(error)})")

    if inventory.reports:
        return scan(CAPTURED, _captured_detail(inventory), inventory)
    if inventory.gaps:
        return scan(UNREADABLE, "; ".join(inventory.gaps), inventory)
    if inventory.invalid_json:
        name, why = inventory.invalid_json[0]
        return scan(UNREADABLE, f"invalid JSON in {_shown(name)} ({why})")
    return scan(NOT_SCAN, _not_scan_detail(inventory))


def _inventory(archive: zipfile.ZipFile, limits: _Limits, artifact_name: str | None) -> _Inventory:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise _Unreadable(f"{len(members)} members, more than the cap of {limits.max_members}")
    inventory = _Inventory(artifact_name)
    inventory.unsafe_names = [m.filename for m in members if _is_unsafe_name(m.filename)]
    files = [m for m in members if not m.is_dir()]
    inventory.members = len(files)
    _check_headers(files, limits)
    budget = [limits.max_total_bytes]
    for info in files:
        name = info.filename
        if name.lower().endswith(ZIP_SUFFIXES):
            inventory.nested_archives.append(name)
            continue
        meant = meant_as_report(name, artifact_name)
        data = _read_json_candidate(archive, info, limits, budget, meant)
        if data is None:
            continue
        if data.startswith(_ZIP_MAGIC):
            inventory.nested_archives.append(name)
            continue
        _classify(inventory, name, data, meant)
    return inventory


def _classify(inventory: _Inventory, name: str, data: bytes, meant: bool) -> None:
    """File one member under reports, gaps, invalid JSON or unrecognised JSON."""
    shown = _shown(name)
    recovered = False
    try:
        try:
            document = load_json(data)
        except ValueError as error:
            report = recover_report(data, name)
            if report is None:
                if meant:
                    inventory.gaps.append(f"{shown} was meant to be a scan report but is not readable JSON ({error})")
                elif name.lower().endswith(JSON_SUFFIXES):
                    inventory.invalid_json.append((name, str(error)))
                return
            recovered = True
        else:
            report = recognise(document, name)
    except UnusableReport as error:
        inventory.gaps.append(f"{error} in {shown}")
        return
    if report is None:
        # Valid JSON of another kind (an SBOM, metadata) in a scan artifact is not a report
        # that went unread: only the file's own name makes it one.
        if meant_as_report(name):
            inventory.gaps.append(f"{shown} was meant to be a scan report but its JSON is in no format understood here")
        else:
            inventory.unrecognised_json += 1
        return
    inventory.reports.append((name, report))
    if recovered:
        inventory.recovered.append(name)
    if report.scanned_nothing is not None:
        inventory.gaps.append(f"{shown} scanned nothing: {report.scanned_nothing}")


def _check_headers(files: list[zipfile.ZipInfo], limits: _Limits) -> None:
    """Refuse what the central directory already admits to, before decompressing anything."""
    declared_total = 0
    for info in files:
        name = _shown(info.filename)
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise _Unreadable(f"member {name} is encrypted")
        if _is_bomb(info.file_size, info.compress_size, limits.max_ratio):
            raise _Unreadable(
                f"member {name} expands from {info.compress_size} to {info.file_size} bytes, "
                f"more than {limits.max_ratio:g} times (a zip bomb)"
            )
        if info.file_size > limits.max_member_bytes:
            raise _Unreadable(
                f"member {name} is {info.file_size} bytes, over the cap of {limits.max_member_bytes} bytes"
            )
        declared_total += info.file_size
        if declared_total > limits.max_total_bytes:
            raise _Unreadable(f"members total more than the cap of {limits.max_total_bytes} bytes")


def _read_json_candidate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: _Limits, budget: list[int], meant: bool
) -> bytes | None:
    """The member's bytes when it may be JSON, a nested zip or a report (``meant``), else None after one chunk.

    Reads in chunks and stops at the caps whatever the header said: ``budget`` holds
    the bytes the whole archive may still expand to.
    """
    name = _shown(info.filename)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                if not chunks and not meant and not _may_be_json(info.filename, chunk):
                    return chunk if chunk.startswith(_ZIP_MAGIC) else None
                size += len(chunk)
                budget[0] -= len(chunk)
                if _is_bomb(size, info.compress_size, limits.max_ratio):
                    raise _Unreadable(
                        f"member {name} expands more than {limits.max_ratio:g} times its compressed size (a zip bomb)"
                    )
                if size > limits.max_member_bytes:
                    raise _Unreadable(f"member {name} expands beyond the cap of {limits.max_member_bytes} bytes")
                if budget[0] < 0:
                    raise _Unreadable(f"members expand beyond the cap of {limits.max_total_bytes} bytes")
                chunks.append(chunk)
    except _ZIP_ERRORS as error:
        raise _Unreadable(f"member {name} is corrupt ({_describe(error)})") from None
    return b"".join(chunks)


def _may_be_json(name: str, head: bytes) -> bool:
    if name.lower().endswith(JSON_SUFFIXES) or head.startswith(_UTF16_BOMS):
        return True
    return head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] in _JSON_STARTS


def _is_bomb(expanded: int, compressed: int, max_ratio: float) -> bool:
    return expanded > RATIO_FLOOR_BYTES and expanded > max_ratio * max(compressed, 1)


def _is_unsafe_name(name: str) -> bool:
    return "\\" in name or name.startswith("/") or bool(_DRIVE_LETTER.match(name)) or ".." in name.split("/")


def _captured_detail(inventory: _Inventory) -> str:
    reports = [
        f"{report.scan_format} report in {_shown(name)} ({_count(len(report.findings), 'finding')})"
        for name, report in inventory.reports
    ]
    parts = ["recognised " + ", ".join(reports)]
    if inventory.recovered:
        parts.append("recovered the JSON report from the text around it in " + _names(inventory.recovered))
    parts.extend(inventory.gaps)
    if inventory.invalid_json:
        parts.append("ignored invalid JSON in " + _names([name for name, _ in inventory.invalid_json]))
    return "; ".join(parts + _notes(inventory))


def _not_scan_detail(inventory: _Inventory) -> str:
    if inventory.members == 0:
        summary = "empty archive, no scan report"
    else:
        summary = f"no scan report among {_count(inventory.members, 'member')}"
        if inventory.unrecognised_json:
            summary += f" ({_count(inventory.unrecognised_json, 'JSON document')} not recognised)"
    return "; ".join([summary, *_notes(inventory)])


def _notes(inventory: _Inventory) -> list[str]:
    notes = []
    if inventory.nested_archives:
        notes.append("nested archives not opened: " + _names(inventory.nested_archives))
    if inventory.unsafe_names:
        notes.append("unsafe member names, read in memory only: " + _names(inventory.unsafe_names))
    return notes


def _names(names: list[str]) -> str:
    shown = ", ".join(_shown(name) for name in names[:_NAMES_SHOWN])
    if len(names) > _NAMES_SHOWN:
        shown += f" and {len(names) - _NAMES_SHOWN} more"
    return shown


def _shown(name: str) -> str:
    """A member name made safe to print: control characters escaped, length capped."""
    printable = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)
    if len(printable) > _NAME_CHARS_SHOWN:
        printable = printable[: _NAME_CHARS_SHOWN - 1] + "…"
    return printable


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
