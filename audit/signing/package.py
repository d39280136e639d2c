"""Sign an evidence package directory: PDF in place, detached CMS, SHA256SUMS.

Order matters: the PDF is signed first and signer.pem written, so SHA256SUMS covers the
signed PDF, the HTML's signature and the chain; SHA256SUMS.p7s then seals the list.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from audit.errors import EvidenceError
from audit.signing.cms import sign_detached
from audit.signing.identity import SigningIdentity
from audit.signing.pdf import sign_pdf

SUMS_NAME = "SHA256SUMS"
SIGNATURE_SUFFIX = ".p7s"
SIGNER_PEM_NAME = "signer.pem"
REPORT_PDF = "report.pdf"
REPORT_HTML = "report.html"
FINDINGS_JSON = "findings.json"

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_sums_file(name: str) -> bool:
    """SHA256SUMS and SHA256SUMS.p7s, exactly, are the only files SHA256SUMS does not list."""
    return name in (SUMS_NAME, SUMS_NAME + SIGNATURE_SUFFIX)


def sums_text(directory: Path) -> str:
    """SHA256SUMS content for `directory`: every file in it, `sha256sum -c` format, by name.

    The list comes from the directory itself, so files a later stage adds (an xlsx, say)
    are signed too. Links, directories and devices are refused rather than followed.
    """
    lines = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        if is_sums_file(path.name):
            continue
        if path.is_symlink() or not path.is_file():
            raise EvidenceError(f"{path}: not a regular file; a signed package holds only regular files")
        lines.append(f"{sha256_file(path)}  {path.name}\n")
    return "".join(lines)


def sign_package(
    directory: Path, identity: SigningIdentity, *, tsa_url: str | None = None, visible_stamp: bool = True
) -> None:
    """Sign the evidence package in `directory` (see module docstring for what is written).

    `visible_stamp=False` leaves out the stamp on the last page (same signature, faster).
    """
    report_pdf = directory / REPORT_PDF
    if not report_pdf.is_file():
        raise EvidenceError(f"{report_pdf}: missing, nothing to sign")
    _sign_pdf_in_place(report_pdf, identity, tsa_url=tsa_url, visible=visible_stamp)
    if (directory / REPORT_HTML).is_file():
        sign_detached(directory / REPORT_HTML, identity, tsa_url=tsa_url)
    (directory / SIGNER_PEM_NAME).write_bytes(identity.chain_pem())
    sums_path = directory / SUMS_NAME
    sums_path.write_text(sums_text(directory), encoding="utf-8")
    sign_detached(sums_path, identity, tsa_url=tsa_url)


def _sign_pdf_in_place(path: Path, identity: SigningIdentity, *, tsa_url: str | None, visible: bool) -> None:
    """Sign into a temporary file beside `path`, then rename over it: never half a PDF."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".signing", dir=path.parent)
    os.close(fd)
    temporary_path = Path(temporary)
    try:
        sign_pdf(path, temporary_path, identity, tsa_url=tsa_url, visible=visible)
        shutil.copymode(path, temporary_path)
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)
