"""Strict verification of an evidence package, or of one file in it.

Strict means stricter than a PDF viewer: the PDF must carry exactly one signature, a
certification with "no changes permitted", and that signature must cover every byte of
the file. Any incremental update appended after signing — even one that only touches
metadata, which pyHanko's default difference policy accepts — counts as tampering.

Trust: with `trust` (a CA PEM file) every signature must chain to it. Without it, the
chain is anchored in the package's own `signer.pem` (or the chain embedded in the
signature), which proves integrity and who signed, not that the signer is the one you
expected: compare the reported fingerprint out of band, or pass `trust`.

Nothing here raises for altered or unreadable evidence; each problem becomes a failed
`Check` whose message names the file. Only a path that does not exist (or an unusable
`trust` file) is a usage error.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    async_validate_detached_cms,
    read_certification_data,
    validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from audit.errors import UsageError
from audit.signing.identity import fingerprint
from audit.signing.package import (
    REPORT_HTML,
    REPORT_PDF,
    SIGNER_PEM_NAME,
    SUMS_NAME,
    is_sums_file,
    sha256_file,
)

SIGNATURE_SUFFIX = ".p7s"
# Either usage is a legitimate signing certificate; requiring both would reject
# production CAs that issue digitalSignature-only document-signing certificates.
_SIGNER_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})
_SUMS_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<name>.+)$")


@dataclass(frozen=True)
class Check:
    """One verified property of one file."""

    name: str
    """What was checked, starting with the file name (e.g. "report.pdf signature")."""

    ok: bool
    """True when the property holds."""

    message: str
    """One sentence naming the file and what holds or what is wrong."""


@dataclass(frozen=True)
class VerificationReport:
    """Everything `verify_path` checked, and who signed."""

    checks: tuple[Check, ...]
    """Every check made, in order; the package is good only if all are ok."""

    signer: str | None = None
    """Subject (RFC 4514) of the certificate that signed the report, when one was read."""

    fingerprint_sha256: str | None = None
    """SHA-256 of that certificate (DER), lowercase hex."""

    signed_at: datetime | None = None
    """Signing time: the RFC 3161 timestamp when present, else the signer's own claim."""

    @property
    def ok(self) -> bool:
        """True when at least one check was made and every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)


@dataclass
class _Signer:
    subject: str
    fingerprint_sha256: str
    signed_at: datetime | None
    certificate: asn1_x509.Certificate = field(repr=False)


@dataclass
class _Anchor:
    """Trust roots for one verification, and how to describe them in messages."""

    roots: list[asn1_x509.Certificate]
    description: str
    # The package's signer.pem leaf, when the anchor came from it: every signature in the
    # package must be made by that certificate.
    expected_leaf: asn1_x509.Certificate | None = None

    def context(self, extra_certs: Iterable[asn1_x509.Certificate] = ()) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.roots,
            other_certs=list(extra_certs),
            allow_fetching=False,
            # Neither the demo CA nor a private CA need run CRL/OCSP services; without
            # fetching, hard-fail would reject every signature.
            revocation_mode="soft-fail",
        )


class _Collector:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.signer: _Signer | None = None

    def ok(self, name: str, message: str) -> None:
        self.checks.append(Check(name, True, message))

    def fail(self, name: str, message: str) -> None:
        self.checks.append(Check(name, False, message))

    def report(self) -> VerificationReport:
        signer = self.signer
        return VerificationReport(
            checks=tuple(self.checks),
            signer=signer.subject if signer else None,
            fingerprint_sha256=signer.fingerprint_sha256 if signer else None,
            signed_at=signer.signed_at if signer else None,
        )


def verify_path(path: Path, *, trust: Path | None = None) -> VerificationReport:
    """Verify a package directory or one file of it; see the module docstring."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    trust_roots = _load_trust_file(trust) if trust is not None else None
    out = _Collector()
    directory = path if path.is_dir() else path.parent
    anchor = _anchor(directory, trust, trust_roots, out)
    if path.is_dir():
        _verify_directory(path, anchor, out)
    elif path.name == SUMS_NAME or path.name == SUMS_NAME + SIGNATURE_SUFFIX:
        _verify_sums(directory, anchor, out, require_complete=False)
    elif path.suffix.lower() == ".pdf":
        _verify_pdf(path, anchor, out)
    elif path.name.endswith(SIGNATURE_SUFFIX):
        _verify_detached(path.with_name(path.name[: -len(SIGNATURE_SUFFIX)]), path, anchor, out)
    elif path.with_name(path.name + SIGNATURE_SUFFIX).exists():
        _verify_detached(path, path.with_name(path.name + SIGNATURE_SUFFIX), anchor, out)
    else:
        _verify_listed_file(path, anchor, out)
    return out.report()


# --- trust ---------------------------------------------------------------------------


def _load_trust_file(trust: Path) -> list[asn1_x509.Certificate]:
    try:
        certs = _read_pem_certs(trust.read_bytes())
    except OSError as err:
        raise UsageError(f"cannot read trust file {trust}: {err.strerror}") from None
    except ValueError:
        raise UsageError(f"trust file {trust} holds no PEM certificate") from None
    if not certs:
        raise UsageError(f"trust file {trust} holds no PEM certificate")
    return certs


def _read_pem_certs(data: bytes) -> list[asn1_x509.Certificate]:
    return [
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        for cert in x509.load_pem_x509_certificates(data)
    ]


def _roots_of(certs: list[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
    self_signed = [cert for cert in certs if cert.self_signed]
    return self_signed or certs[-1:]


def _anchor(directory, trust, trust_roots, out: _Collector) -> _Anchor:
    if trust_roots is not None:
        return _Anchor(trust_roots, f"the trusted root in {trust.name}")
    signer_pem = directory / SIGNER_PEM_NAME
    if signer_pem.is_file():
        try:
            certs = _read_pem_certs(signer_pem.read_bytes())
        except (OSError, ValueError):
            certs = []
        if not certs:
            out.fail(SIGNER_PEM_NAME, f"{SIGNER_PEM_NAME}: not a readable PEM certificate chain")
            return _Anchor([], f"{SIGNER_PEM_NAME} (unreadable)")
        return _Anchor(_roots_of(certs), f"the root in {SIGNER_PEM_NAME}", certs[0])
    # No signer.pem and no --trust: each signature is anchored in its own embedded chain.
    return _Anchor([], "the signature's own embedded root")


def _anchor_for(anchor: _Anchor, embedded: list[asn1_x509.Certificate]) -> _Anchor:
    if anchor.roots or anchor.expected_leaf is not None:
        return anchor
    return _Anchor(_roots_of(embedded), anchor.description) if embedded else anchor


def _signer_of(certificate: asn1_x509.Certificate, signed_at: datetime | None) -> _Signer:
    cert = x509.load_der_x509_certificate(certificate.dump())
    return _Signer(cert.subject.rfc4514_string(), fingerprint(cert), signed_at, certificate)


def _trust_checks(name, label, status, signer_cert, anchor: _Anchor, out: _Collector) -> None:
    if anchor.expected_leaf is not None and signer_cert.dump() != anchor.expected_leaf.dump():
        out.fail(
            f"{label} signer",
            f"{name}: signed by a certificate other than the one in {SIGNER_PEM_NAME}",
        )
    if status.trusted:
        out.ok(f"{label} trust", f"{name}: signer certificate chains to {anchor.description}")
    else:
        problem = f" ({status.trust_problem_indic.name})" if status.trust_problem_indic else ""
        out.fail(
            f"{label} trust",
            f"{name}: signer certificate does not chain to {anchor.description}{problem}",
        )


def _timestamp_check(name: str, label: str, status, out: _Collector) -> None:
    """A signature timestamp, when present, must be intact; its TSA is reported, not pinned.

    Public TSAs chain to roots outside the package, so an untrusted TSA chain is stated in
    the message rather than failed; an altered or invalid token fails.
    """
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is None:
        return
    if not (timestamp.intact and timestamp.valid):
        out.fail(f"{label} timestamp", f"{name}: the RFC 3161 timestamp token does not verify")
        return
    tsa = timestamp.signing_cert.subject.human_friendly
    trusted = "trusted" if timestamp.trusted else "not chained to a trust root here"
    out.ok(
        f"{label} timestamp",
        f"{name}: RFC 3161 timestamp {timestamp.timestamp.isoformat()} by {tsa} ({trusted})",
    )


def _signing_time(status) -> datetime | None:
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is not None and timestamp.valid and timestamp.intact:
        return timestamp.timestamp
    return status.signer_reported_dt


# --- detached CMS --------------------------------------------------------------------


def _verify_detached(content: Path, signature: Path, anchor: _Anchor, out: _Collector) -> bool:
    """Check `signature` (DER CMS) over `content`; True when it holds and is trusted."""
    label = signature.name
    if not content.is_file():
        out.fail(label, f"{content.name}: missing, but {signature.name} signs it")
        return False
    if not signature.is_file():
        out.fail(label, f"{content.name}: no detached signature {signature.name}")
        return False
    try:
        content_info = asn1_cms.ContentInfo.load(signature.read_bytes())
        signed_data = content_info["content"]
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not CMS signed-data")
        embedded = [c.chosen for c in signed_data["certificates"] if c.name == "certificate"]
        local_anchor = _anchor_for(anchor, embedded)
        status = asyncio.run(
            async_validate_detached_cms(
                content.read_bytes(),
                signed_data,
                signer_validation_context=local_anchor.context(embedded),
                key_usage_settings=_SIGNER_KEY_USAGE,
            )
        )
    except Exception as err:  # noqa: BLE001 - any parse failure is a failed check
        out.fail(label, f"{signature.name}: not a readable CMS signature ({_brief(err)})")
        return False
    if not status.intact:
        out.fail(label, f"{content.name}: content differs from what {signature.name} signed")
        return False
    if not status.valid:
        out.fail(label, f"{signature.name}: signature value does not verify")
        return False
    out.ok(label, f"{content.name}: detached signature {signature.name} is intact and valid")
    _trust_checks(content.name, label, status, status.signing_cert, local_anchor, out)
    _timestamp_check(content.name, label, status, out)
    if out.signer is None:
        out.signer = _signer_of(status.signing_cert, _signing_time(status))
    return status.trusted


# --- SHA256SUMS ----------------------------------------------------------------------


def _parse_sums(text: str, out: _Collector) -> dict[str, str] | None:
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUMS_LINE.match(line)
        if match is None:
            out.fail(SUMS_NAME, f"{SUMS_NAME}: line {number} is not '<sha256>  <name>'")
            return None
        name = match["name"]
        if "/" in name or "\\" in name or name in (".", ".."):
            out.fail(SUMS_NAME, f"{SUMS_NAME}: line {number} names a path outside the package")
            return None
        if name in entries:
            out.fail(SUMS_NAME, f"{SUMS_NAME}: {name} is listed twice")
            return None
        entries[name] = match["digest"]
    return entries


def _verify_sums(directory: Path, anchor: _Anchor, out: _Collector, *, require_complete: bool) -> dict[str, str] | None:
    """Check SHA256SUMS.p7s and every listed file; return the entries when readable."""
    sums = directory / SUMS_NAME
    if not sums.is_file():
        out.fail(SUMS_NAME, f"{SUMS_NAME}: missing")
        return None
    _verify_detached(sums, directory / (SUMS_NAME + SIGNATURE_SUFFIX), anchor, out)
    try:
        entries = _parse_sums(sums.read_text(encoding="utf-8"), out)
    except (OSError, UnicodeDecodeError):
        out.fail(SUMS_NAME, f"{SUMS_NAME}: unreadable")
        return None
    if entries is None:
        return None
    for name, digest in sorted(entries.items()):
        _check_listed(directory / name, digest, out)
    if require_complete:
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            if not is_sums_file(path.name) and path.name not in entries:
                out.fail(path.name, f"{path.name}: present but not listed in {SUMS_NAME}")
    return entries


def _check_listed(path: Path, digest: str, out: _Collector) -> None:
    if not path.is_file():
        out.fail(path.name, f"{path.name}: listed in {SUMS_NAME} but missing")
        return
    try:
        actual = sha256_file(path)
    except OSError:
        out.fail(path.name, f"{path.name}: unreadable")
        return
    if actual == digest:
        out.ok(path.name, f"{path.name}: SHA-256 matches {SUMS_NAME}")
    else:
        out.fail(path.name, f"{path.name}: SHA-256 differs from {SUMS_NAME}")


def _verify_listed_file(path: Path, anchor: _Anchor, out: _Collector) -> None:
    directory = path.parent
    sums = directory / SUMS_NAME
    if not sums.is_file():
        out.fail(path.name, f"{path.name}: no {path.name}.p7s and no {SUMS_NAME} beside it")
        return
    _verify_detached(sums, directory / (SUMS_NAME + SIGNATURE_SUFFIX), anchor, out)
    try:
        entries = _parse_sums(sums.read_text(encoding="utf-8"), out)
    except (OSError, UnicodeDecodeError):
        out.fail(SUMS_NAME, f"{SUMS_NAME}: unreadable")
        return
    if entries is None:
        return
    if path.name not in entries:
        out.fail(path.name, f"{path.name}: not listed in {SUMS_NAME}")
        return
    _check_listed(path, entries[path.name], out)


# --- the package ---------------------------------------------------------------------


def _verify_directory(directory: Path, anchor: _Anchor, out: _Collector) -> None:
    _verify_sums(directory, anchor, out, require_complete=True)
    html = directory / REPORT_HTML
    if html.exists() or (directory / (REPORT_HTML + SIGNATURE_SUFFIX)).exists():
        _verify_detached(html, directory / (REPORT_HTML + SIGNATURE_SUFFIX), anchor, out)
    pdf = directory / REPORT_PDF
    if pdf.is_file():
        _verify_pdf(pdf, anchor, out)
    else:
        out.fail(REPORT_PDF, f"{REPORT_PDF}: missing")


# --- PDF -----------------------------------------------------------------------------


def _verify_pdf(path: Path, anchor: _Anchor, out: _Collector) -> None:
    name = path.name
    label = f"{name} signature"
    try:
        data = path.read_bytes()
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as err:  # noqa: BLE001 - a damaged PDF is a failed check
        out.fail(label, f"{name}: cannot be read as a PDF ({_brief(err)})")
        return
    if len(signatures) != 1:
        found = "no signature" if not signatures else f"{len(signatures)} signatures"
        out.fail(label, f"{name}: {found}, expected exactly one")
        if not signatures:
            return
    signature = signatures[0]
    try:
        _check_byte_range(name, signature, len(data), out)
        embedded = [signature.signer_cert, *signature.other_embedded_certs]
        local_anchor = _anchor_for(anchor, embedded)
        status = validate_pdf_signature(
            signature,
            signer_validation_context=local_anchor.context(embedded),
            key_usage_settings=_SIGNER_KEY_USAGE,
        )
    except Exception as err:  # noqa: BLE001 - a damaged signature is a failed check
        out.fail(label, f"{name}: signature cannot be read or checked ({_brief(err)})")
        return
    if not status.intact:
        out.fail(label, f"{name}: signed bytes were altered (digest does not match)")
        return
    if not status.valid:
        out.fail(label, f"{name}: signature value does not verify")
        return
    out.ok(label, f"{name}: signature is intact and valid")
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        out.ok(f"{name} coverage", f"{name}: the signature covers the whole file")
    else:
        out.fail(
            f"{name} coverage",
            f"{name}: the signature does not cover the whole file (content was added after signing)",
        )
    _check_certification(name, reader, signature, out)
    _trust_checks(name, name, status, status.signing_cert, local_anchor, out)
    _timestamp_check(name, name, status, out)
    out.signer = _signer_of(status.signing_cert, _signing_time(status))


def _check_byte_range(name: str, signature, file_size: int, out: _Collector) -> None:
    byte_range = [int(value) for value in signature.sig_object["/ByteRange"]]
    signed_end = byte_range[2] + byte_range[3]
    if byte_range[0] != 0 or signed_end != file_size:
        out.fail(
            f"{name} byte range",
            f"{name}: {file_size - signed_end} bytes after the signed range — the file was updated after signing",
        )


def _check_certification(name: str, reader: PdfFileReader, signature, out: _Collector) -> None:
    certification = read_certification_data(reader)
    level = signature.docmdp_level
    if certification is None:
        out.fail(f"{name} certification", f"{name}: not a certification (DocMDP) signature")
    elif level != MDPPerm.NO_CHANGES or certification.permission != MDPPerm.NO_CHANGES:
        out.fail(
            f"{name} certification",
            f"{name}: certification allows changes (DocMDP {level}), expected no changes",
        )
    else:
        out.ok(f"{name} certification", f"{name}: certified, no changes permitted")


def _brief(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{err.__class__.__name__}: {text}"[:200] if text else err.__class__.__name__
