"""Strict verification of an evidence package, or of one file in it.

Strict means stricter than a PDF viewer: the PDF carries exactly one signature, a
certification with "no changes permitted", covering every byte of the file — the only
revisions allowed after it are long-term-validation updates (a DSS with the chain and
revocation data, then an RFC 3161 document timestamp covering the whole file). Any other
incremental update, even one that only touches metadata, counts as tampering. The unsigned
padding of every PDF signature must hold only the signature.

Trust never comes from the package itself. A package can only be *verified* against an
anchor the auditor brings: `trust` (the organisation's CA, PEM) or `signer_fingerprint`
(the SHA-256 of the signing certificate, obtained out of band). Without one, integrity is
still checked in full, but the result is `unpinned` (exit 3): anyone can make a key whose
names copy the genuine ones. In every mode the signer certificate must be valid at the
signing time, carry a signing key usage and a document-signing extended key usage
(`DOCUMENT_SIGNING_EKUS`), and one certificate must sign the whole package.

What the package covers (period, organisation, repositories) is read from signed content
— findings.json listed in the signed SHA256SUMS, or the copy attached inside the signed
PDF — so a package from another quarter cannot pass as this one when `period` is given.

Nothing here raises for altered or unreadable evidence; each problem becomes a failed
`Check` whose message names the file. Only a path that does not exist or an unusable
option is a usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    async_validate_detached_cms,
    read_certification_data,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from audit.errors import UsageError
from audit.signing.identity import fingerprint
from audit.signing.package import (
    FINDINGS_JSON,
    REPORT_HTML,
    REPORT_PDF,
    SIGNATURE_SUFFIX,
    SIGNER_PEM_NAME,
    SUMS_NAME,
    is_sums_file,
    sha256_file,
)

# Either usage is a legitimate signing certificate; requiring both would reject
# production CAs that issue digitalSignature-only document-signing certificates.
SIGNER_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
# Extended key usages that say "this certificate signs documents". A certificate the
# trusted CA issued for anything else (e-mail, TLS, code signing) is refused, as is one
# with no extended key usage at all.
DOCUMENT_SIGNING_EKUS = {
    "1.3.6.1.5.5.7.3.36": "id-kp-documentSigning (RFC 9336)",
    "adobe_authentic_documents_trust": "Adobe Authentic Documents Trust (1.2.840.113583.1.1.5)",
    "microsoft_document_signing": "Microsoft Document Signing (1.3.6.1.4.1.311.10.3.12)",
}
_SIGNER_KEY_USAGE = KeyUsageConstraints(
    key_usage=set(SIGNER_KEY_USAGES),
    extd_key_usage=set(DOCUMENT_SIGNING_EKUS),
    explicit_extd_key_usage_required=True,
)
REVOCATION_MODES = {"soft": "soft-fail", "hard": "hard-fail"}
_SUMS_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<name>.+)$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
# Libraries whose log lines would otherwise land on stderr: pyHanko's difference analysis
# alone printed 167 KB for one tampered page. Every problem is already a failed Check.
_QUIET_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools")


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
class SignedScope:
    """What the package says it covers, read from signed content only."""

    source: str
    """Where it was read: "findings.json" or "findings.json attached to report.pdf"."""

    period: str | None
    """The period label (e.g. "2024Q2"), or None when the signed content does not say."""

    period_start: str | None
    """First instant of the period (ISO 8601), when stated."""

    period_end: str | None
    """End of the period, exclusive (ISO 8601), when stated."""

    organization: str | None
    """The GitHub organisation, when the report names one."""

    repositories: tuple[str, ...]
    """The repositories in scope, "owner/name"."""

    demo: bool | None
    """True for demo evidence; None when not stated."""


@dataclass(frozen=True)
class VerificationReport:
    """Everything `verify_path` checked, who signed, and against which anchor."""

    checks: tuple[Check, ...]
    """Every check made, in order; integrity holds only if all are ok."""

    anchor: str | None
    """The trust anchor the auditor gave, described; None when none was given."""

    signer: str | None = None
    """Subject (RFC 4514) of the certificate that signed, when one was read."""

    fingerprint_sha256: str | None = None
    """SHA-256 of that certificate (DER), lowercase hex."""

    signed_at: datetime | None = None
    """Signing time: the RFC 3161 timestamp when present, else the signer's own claim."""

    scope: SignedScope | None = None
    """Period, organisation and repositories from signed content, when readable."""

    @property
    def ok(self) -> bool:
        """True when at least one check was made and every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def verified(self) -> bool:
        """Integrity holds and the signer matches an anchor the auditor gave."""
        return self.ok and self.anchor is not None

    @property
    def exit_code(self) -> int:
        """0 verified, 1 altered/unreadable/someone else's, 3 intact but not pinned."""
        if not self.ok:
            return 1
        return 0 if self.verified else 3


@dataclass(frozen=True)
class _Anchor:
    """What the auditor pinned (if anything), plus how signatures are validated."""

    roots: tuple[asn1_x509.Certificate, ...]
    """Trust roots from --trust; empty when the auditor gave none."""

    description: str | None
    """The anchor, for messages; None when unpinned."""

    pinned_fingerprint: str | None = None
    """--signer-fingerprint, normalised."""

    package_leaf: asn1_x509.Certificate | None = None
    """The leaf of the package's signer.pem: every signature must be made by it."""

    tsa_roots: tuple[asn1_x509.Certificate, ...] = ()
    """Roots trusted for RFC 3161 timestamps only (--tsa-trust)."""

    moment: datetime | None = None
    """Validate as of this time (--at); None means now."""

    revocation: str = "soft"
    """"soft" or "hard" revocation checking."""

    def roots_for(self, embedded: list[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
        """Roots for path validation: --trust, else the self-signed root the signature carries.

        Only a CA certificate can be a root, so the signer's own certificate never anchors
        its own chain. The embedded root is only used to check the chain's structure, expiry and
        usages; it is never reported as trusted (see `_trust_checks`).
        """
        if self.roots:
            return list(self.roots)
        return [cert for cert in embedded if cert.ca and is_self_signed(cert)]

    def context(self, embedded: list[asn1_x509.Certificate], moment: datetime | None = None) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.roots_for(embedded),
            other_certs=embedded,
            moment=moment or self.moment,
            # Soft mode never goes to the network: neither the demo CA nor most private
            # CAs run CRL/OCSP services. Hard mode fetches what the certificates point to
            # and fails when no revocation status can be established.
            allow_fetching=self.revocation == "hard",
            revocation_mode=REVOCATION_MODES[self.revocation],
        )

    def timestamp_context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=[*self.roots, *self.tsa_roots],
            moment=self.moment,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )


@dataclass
class _Signer:
    subject: str
    fingerprint_sha256: str
    signed_at: datetime | None


class _Collector:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.signer: _Signer | None = None
        self.signers: dict[str, str] = {}
        self.scope: SignedScope | None = None

    def ok(self, name: str, message: str) -> None:
        self.checks.append(Check(name, True, message))

    def fail(self, name: str, message: str) -> None:
        self.checks.append(Check(name, False, message))

    def report(self, anchor: _Anchor) -> VerificationReport:
        signer = self.signer
        return VerificationReport(
            checks=tuple(self.checks),
            anchor=anchor.description,
            signer=signer.subject if signer else None,
            fingerprint_sha256=signer.fingerprint_sha256 if signer else None,
            signed_at=signer.signed_at if signer else None,
            scope=self.scope,
        )


def verify_path(
    path: Path,
    *,
    trust: Path | None = None,
    signer_fingerprint: str | None = None,
    period: str | None = None,
    at: datetime | None = None,
    revocation: str = "soft",
    tsa_trust: Path | None = None,
) -> VerificationReport:
    """Verify a package directory or one file of it; see the module docstring."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file or directory")
    if trust is not None and signer_fingerprint is not None:
        raise UsageError("give --trust or --signer-fingerprint, not both")
    if revocation not in REVOCATION_MODES:
        raise UsageError(f"--revocation must be one of {', '.join(REVOCATION_MODES)}, not {revocation!r}")
    with _quiet_libraries():
        out = _Collector()
        directory = path if path.is_dir() else path.parent
        anchor = _anchor(directory, trust, signer_fingerprint, tsa_trust, at, revocation, out)
        if path.is_dir():
            _verify_directory(path, anchor, out)
        elif path.name in (SUMS_NAME, SUMS_NAME + SIGNATURE_SUFFIX):
            _verify_sums(directory, anchor, out, require_complete=False)
        elif path.suffix.lower() == ".pdf":
            _verify_pdf(path, anchor, out, read_scope=True)
        elif path.name.endswith(SIGNATURE_SUFFIX):
            _verify_detached(path.with_name(path.name[: -len(SIGNATURE_SUFFIX)]), path, anchor, out)
        elif path.with_name(path.name + SIGNATURE_SUFFIX).exists():
            _verify_detached(path, path.with_name(path.name + SIGNATURE_SUFFIX), anchor, out)
        else:
            _verify_listed_file(path, anchor, out)
        _one_signer(out)
        _period_check(period, out)
        return out.report(anchor)


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.propagate = propagate


# --- trust ---------------------------------------------------------------------------


def normalise_fingerprint(value: str) -> str:
    """A SHA-256 fingerprint in any usual spelling (colons, spaces, upper case) as bare hex."""
    cleaned = re.sub(r"[\s:]", "", value).lower().removeprefix("sha256")
    cleaned = cleaned.lstrip("=")
    if not _FINGERPRINT.match(cleaned):
        raise UsageError(f"--signer-fingerprint {value!r} is not a SHA-256 fingerprint (64 hex digits)")
    return cleaned


def is_self_signed(cert: asn1_x509.Certificate) -> bool:
    """True only when the certificate's own key verifies its signature.

    asn1crypto's `self_signed` answers the strings "no" or "maybe", both true in a boolean
    test; treating "maybe" as yes made every certificate of signer.pem a trusted root.
    """
    if cert.self_signed != "maybe":
        return False
    parsed = x509.load_der_x509_certificate(cert.dump())
    try:
        parsed.verify_directly_issued_by(parsed)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _read_certificates(path: Path, what: str) -> tuple[asn1_x509.Certificate, ...]:
    try:
        certs = _read_pem_certs(path.read_bytes())
    except OSError as err:
        raise UsageError(f"cannot read {what} {path}: {err.strerror}") from None
    except ValueError:
        certs = []
    if not certs:
        raise UsageError(f"{what} {path} holds no PEM certificate")
    return tuple(certs)


def _read_pem_certs(data: bytes) -> list[asn1_x509.Certificate]:
    return [
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        for cert in x509.load_pem_x509_certificates(data)
    ]


def _anchor(directory, trust, signer_fingerprint, tsa_trust, at, revocation, out: _Collector) -> _Anchor:
    roots: tuple[asn1_x509.Certificate, ...] = ()
    description = None
    pinned = None
    if trust is not None:
        roots = _read_certificates(trust, "trust file")
        description = f"the trusted CA in {trust.name}"
    elif signer_fingerprint is not None:
        pinned = normalise_fingerprint(signer_fingerprint)
        description = f"the pinned certificate SHA-256 {pinned}"
    tsa_roots = _read_certificates(tsa_trust, "TSA trust file") if tsa_trust is not None else ()
    return _Anchor(
        roots=roots,
        description=description,
        pinned_fingerprint=pinned,
        package_leaf=_package_leaf(directory, out),
        tsa_roots=tsa_roots,
        moment=at,
        revocation=revocation,
    )


def _package_leaf(directory: Path, out: _Collector) -> asn1_x509.Certificate | None:
    """The leaf of signer.pem, which every signature must match (never a trust anchor)."""
    signer_pem = directory / SIGNER_PEM_NAME
    if not signer_pem.is_file():
        return None
    try:
        certs = _read_pem_certs(signer_pem.read_bytes())
    except (OSError, ValueError):
        certs = []
    if not certs:
        out.fail(SIGNER_PEM_NAME, f"{SIGNER_PEM_NAME}: not a readable PEM certificate chain")
        return None
    return certs[0]


def _signer_of(certificate: asn1_x509.Certificate, signed_at: datetime | None) -> _Signer:
    cert = x509.load_der_x509_certificate(certificate.dump())
    return _Signer(cert.subject.rfc4514_string(), fingerprint(cert), signed_at)


def _certificate_policy(name: str, label: str, cert: asn1_x509.Certificate, moment: datetime, out: _Collector) -> None:
    """Validity at the signing time, signing key usage, document-signing EKU, not a CA.

    Checked here on the leaf itself, whatever the chain, so a certificate that happens to
    be its own root (or is pinned by fingerprint) gets no pass.
    """
    problems = []
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native
    if moment < not_before:
        problems.append(f"not yet valid at {moment.isoformat()} (valid from {not_before.isoformat()})")
    if moment > not_after:
        problems.append(f"expired {not_after.isoformat()}, before {moment.isoformat()}")
    key_usage = set(cert.key_usage_value.native) if cert.key_usage_value is not None else set()
    if not key_usage & SIGNER_KEY_USAGES:
        problems.append("no digitalSignature/nonRepudiation key usage")
    ekus = set(cert.extended_key_usage_value.native) if cert.extended_key_usage_value is not None else set()
    if not ekus & set(DOCUMENT_SIGNING_EKUS):
        shown = ", ".join(sorted(ekus)) if ekus else "none"
        problems.append(f"no document-signing extended key usage (has: {shown})")
    if cert.ca:
        problems.append("it is a CA certificate")
    if problems:
        out.fail(f"{label} certificate", f"{name}: signer certificate refused: {'; '.join(problems)}")
    else:
        out.ok(
            f"{label} certificate",
            f"{name}: signer certificate valid at {moment.isoformat()}, document-signing usage",
        )


def _trust_checks(name: str, label: str, status, anchor: _Anchor, out: _Collector) -> None:
    signer_cert = status.signing_cert
    signer_fingerprint = fingerprint(x509.load_der_x509_certificate(signer_cert.dump()))
    out.signers.setdefault(signer_fingerprint, label)
    if anchor.package_leaf is not None and signer_cert.dump() != anchor.package_leaf.dump():
        out.fail(f"{label} signer", f"{name}: signed by a certificate other than the one in {SIGNER_PEM_NAME}")
    chain_problem = f" ({status.trust_problem_indic.name})" if status.trust_problem_indic else ""
    if anchor.pinned_fingerprint is not None:
        if signer_fingerprint == anchor.pinned_fingerprint:
            out.ok(f"{label} trust", f"{name}: signed by {anchor.description}")
        else:
            out.fail(
                f"{label} trust",
                f"{name}: signed by certificate SHA-256 {signer_fingerprint}, not {anchor.description}",
            )
        if not status.trusted:
            out.fail(f"{label} chain", f"{name}: the signer's embedded chain does not validate{chain_problem}")
    elif anchor.roots:
        if status.trusted:
            out.ok(f"{label} trust", f"{name}: signer certificate chains to {anchor.description}")
        else:
            out.fail(
                f"{label} trust", f"{name}: signer certificate does not chain to {anchor.description}{chain_problem}"
            )
    elif not status.trusted:
        out.fail(f"{label} chain", f"{name}: the signer's embedded chain does not validate{chain_problem}")


def _timestamp_check(name: str, label: str, status, out: _Collector) -> datetime | None:
    """Report a signature timestamp; return its time when it may vouch for the signing time.

    A timestamp vouches (lets a certificate that expired since still count as valid when it
    signed) only when its TSA chains to a root the auditor trusts (--trust or --tsa-trust).
    An altered or invalid token fails.
    """
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is None:
        return None
    if not (timestamp.intact and timestamp.valid):
        out.fail(f"{label} timestamp", f"{name}: the RFC 3161 timestamp token does not verify")
        return None
    tsa = timestamp.signing_cert.subject.human_friendly
    trusted = "TSA trusted" if timestamp.trusted else "TSA not pinned: give --tsa-trust to rely on it"
    out.ok(f"{label} timestamp", f"{name}: RFC 3161 timestamp {timestamp.timestamp.isoformat()} by {tsa} ({trusted})")
    return timestamp.timestamp if timestamp.trusted else None


def _signing_time(status) -> datetime | None:
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is not None and timestamp.valid and timestamp.intact:
        return timestamp.timestamp
    return status.signer_reported_dt


def _one_signer(out: _Collector) -> None:
    if len(out.signers) > 1:
        listed = "; ".join(f"{label}: {digest}" for digest, label in out.signers.items())
        out.fail("signer", f"the package is signed by {len(out.signers)} different certificates ({listed})")


def _validate_signature(validate, embedded: list[asn1_x509.Certificate], anchor: _Anchor):
    """Validate once as of --at/now; if a trusted timestamp predates that, again as of it.

    That second pass is long-term validation: a certificate that expired after a trusted
    TSA vouched for the signature still counts as valid when it signed.
    """
    status = validate(anchor.context(embedded))
    timestamp = getattr(status, "timestamp_validity", None)
    moment = anchor.moment or datetime.now(UTC)
    if timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted:
        if timestamp.timestamp < moment:
            status = validate(anchor.context(embedded, moment=timestamp.timestamp))
            moment = timestamp.timestamp
    return status, moment


def _after_validation(name: str, label: str, status, moment: datetime, anchor: _Anchor, out: _Collector) -> None:
    _certificate_policy(name, label, status.signing_cert, moment, out)
    _trust_checks(name, label, status, anchor, out)
    _timestamp_check(name, label, status, out)
    if out.signer is None:
        out.signer = _signer_of(status.signing_cert, _signing_time(status))


# --- detached CMS --------------------------------------------------------------------


def _verify_detached(content: Path, signature: Path, anchor: _Anchor, out: _Collector) -> bool:
    """Check `signature` (DER CMS) over `content`; True when it is intact and valid."""
    label = signature.name
    if not _regular_file(content):
        out.fail(label, f"{content.name}: missing or not a regular file, but {signature.name} signs it")
        return False
    if not _regular_file(signature):
        out.fail(label, f"{content.name}: no detached signature {signature.name}")
        return False
    try:
        content_info = asn1_cms.ContentInfo.load(signature.read_bytes())
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not CMS signed-data")
        signed_data = content_info["content"]
        embedded = [c.chosen for c in signed_data["certificates"] if c.name == "certificate"]

        def validate(context: ValidationContext):
            with content.open("rb") as stream:
                return asyncio.run(
                    async_validate_detached_cms(
                        stream,
                        signed_data,
                        signer_validation_context=context,
                        ts_validation_context=anchor.timestamp_context(),
                        key_usage_settings=_SIGNER_KEY_USAGE,
                    )
                )

        status, moment = _validate_signature(validate, embedded, anchor)
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
    _after_validation(content.name, label, status, moment, anchor, out)
    return True


# --- SHA256SUMS ----------------------------------------------------------------------


def _regular_file(path: Path) -> bool:
    """A regular file, not a symlink: a link to a device would hang any hashing tool."""
    return not path.is_symlink() and path.is_file()


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


def _read_sums(directory: Path, anchor: _Anchor, out: _Collector) -> dict[str, str] | None:
    """Check SHA256SUMS.p7s; return the entries when SHA256SUMS is readable and signed intact."""
    sums = directory / SUMS_NAME
    if not _regular_file(sums):
        out.fail(SUMS_NAME, f"{SUMS_NAME}: missing")
        return None
    signed = _verify_detached(sums, directory / (SUMS_NAME + SIGNATURE_SUFFIX), anchor, out)
    try:
        entries = _parse_sums(sums.read_text(encoding="utf-8"), out)
    except (OSError, UnicodeDecodeError):
        out.fail(SUMS_NAME, f"{SUMS_NAME}: unreadable")
        return None
    return entries if signed else None


def _verify_sums(directory: Path, anchor: _Anchor, out: _Collector, *, require_complete: bool) -> dict[str, str] | None:
    """Check SHA256SUMS.p7s and every listed file; return the entries when trustworthy."""
    entries = _read_sums(directory, anchor, out)
    if entries is None:
        return None
    good = {name: digest for name, digest in sorted(entries.items()) if _check_listed(directory / name, digest, out)}
    if require_complete:
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            if is_sums_file(path.name):
                if not _regular_file(path):
                    out.fail(path.name, f"{path.name}: not a regular file")
            elif path.name not in entries:
                kind = "present" if _regular_file(path) else "a link, directory or device"
                out.fail(path.name, f"{path.name}: {kind} but not listed in {SUMS_NAME}")
    return good


def _check_listed(path: Path, digest: str, out: _Collector) -> bool:
    if path.is_symlink() or (path.exists() and not path.is_file()):
        out.fail(path.name, f"{path.name}: listed in {SUMS_NAME} but not a regular file (link, directory or device)")
        return False
    if not path.is_file():
        out.fail(path.name, f"{path.name}: listed in {SUMS_NAME} but missing")
        return False
    try:
        actual = sha256_file(path)
    except OSError:
        out.fail(path.name, f"{path.name}: unreadable")
        return False
    if actual == digest:
        out.ok(path.name, f"{path.name}: SHA-256 matches {SUMS_NAME}")
        return True
    out.fail(path.name, f"{path.name}: SHA-256 differs from {SUMS_NAME}")
    return False


def _verify_listed_file(path: Path, anchor: _Anchor, out: _Collector) -> None:
    entries = _read_sums(path.parent, anchor, out)
    if entries is None:
        if not (path.parent / SUMS_NAME).exists():
            out.fail(path.name, f"{path.name}: no {path.name}{SIGNATURE_SUFFIX} and no {SUMS_NAME} beside it")
        return
    if path.name not in entries:
        out.fail(path.name, f"{path.name}: not listed in {SUMS_NAME}")
        return
    if _check_listed(path, entries[path.name], out) and path.name == FINDINGS_JSON:
        _read_scope_file(path, out)


# --- the package ---------------------------------------------------------------------


def _verify_directory(directory: Path, anchor: _Anchor, out: _Collector) -> None:
    good = _verify_sums(directory, anchor, out, require_complete=True) or {}
    html = directory / REPORT_HTML
    if html.exists() or (directory / (REPORT_HTML + SIGNATURE_SUFFIX)).exists():
        _verify_detached(html, directory / (REPORT_HTML + SIGNATURE_SUFFIX), anchor, out)
    pdf = directory / REPORT_PDF
    if _regular_file(pdf):
        _verify_pdf(pdf, anchor, out, read_scope=FINDINGS_JSON not in good)
    else:
        out.fail(REPORT_PDF, f"{REPORT_PDF}: missing")
    if FINDINGS_JSON in good:
        _read_scope_file(directory / FINDINGS_JSON, out)
    _check_seals(directory, good, out)


def _check_seals(directory: Path, good: dict[str, str], out: _Collector) -> None:
    """Recompute the evidence seal chain of the signed evidence.db (see audit.seal)."""
    from audit.seal import check_seal_chain

    if "evidence.db" not in good:
        return
    for ok, message in check_seal_chain(directory / "evidence.db"):
        (out.ok if ok else out.fail)("evidence.db seals", f"evidence.db: {message}")


# --- what the package covers ---------------------------------------------------------


def _scope_of(document: Any, source: str) -> SignedScope:
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    period = document.get("period")
    if not isinstance(period, dict):
        period = {}
    label = period.get("label") or document.get("quarter")
    repositories = document.get("repositories") or []
    demo = document.get("demo")
    return SignedScope(
        source=source,
        period=str(label) if label else None,
        period_start=period.get("start"),
        period_end=period.get("end"),
        organization=document.get("organization"),
        repositories=tuple(str(name) for name in repositories),
        demo=bool(demo) if demo is not None else None,
    )


def _read_scope_file(path: Path, out: _Collector) -> None:
    try:
        with path.open("rb") as handle:
            out.scope = _scope_of(json.load(handle), path.name)
    except (OSError, ValueError) as err:
        out.fail(path.name, f"{path.name}: signed, but not readable as findings ({_brief(err)})")


def _read_scope_attachment(reader: PdfFileReader, pdf_name: str, out: _Collector) -> None:
    data = _attachment(reader, FINDINGS_JSON)
    if data is None:
        return
    try:
        out.scope = _scope_of(json.loads(data), f"{FINDINGS_JSON} attached to {pdf_name}")
    except ValueError as err:
        out.fail(pdf_name, f"{pdf_name}: attached {FINDINGS_JSON} is not readable ({_brief(err)})")


def _attachment(reader: PdfFileReader, wanted: str) -> bytes | None:
    """The bytes of the PDF's embedded file named `wanted` (EmbeddedFiles name tree)."""
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    pending = [names]
    while pending:
        node = pending.pop()
        if "/Kids" in node:
            pending.extend(kid.get_object() for kid in node["/Kids"])
        entries = list(node.get("/Names", []))
        for index in range(0, len(entries) - 1, 2):
            spec = entries[index + 1].get_object()
            filename = str(spec.get("/UF") or spec.get("/F") or entries[index])
            if filename == wanted:
                return spec["/EF"]["/F"].get_object().data
    return None


def _period_check(expected: str | None, out: _Collector) -> None:
    scope = out.scope
    if expected is None:
        return
    if scope is None or scope.period is None:
        out.fail("period", f"--period {expected}: the signed content read here does not state a period")
    elif scope.period.upper() != expected.strip().upper():
        out.fail("period", f"period: the signed content covers {scope.period}, not the expected {expected}")
    else:
        out.ok("period", f"period: the signed content covers {scope.period}, as expected")


# --- PDF -----------------------------------------------------------------------------


def _verify_pdf(path: Path, anchor: _Anchor, out: _Collector, *, read_scope: bool) -> None:
    name = path.name
    label = f"{name} signature"
    try:
        data = path.read_bytes()
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
        document_timestamps = reader.embedded_timestamp_signatures
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
        _check_padding(name, signature, data, out)
        for timestamp in document_timestamps:
            _check_padding(name, timestamp, data, out)
        embedded = [signature.signer_cert, *signature.other_embedded_certs]
        status, moment = _validate_signature(
            lambda context: validate_pdf_signature(
                signature,
                signer_validation_context=context,
                ts_validation_context=anchor.timestamp_context(),
                key_usage_settings=_SIGNER_KEY_USAGE,
            ),
            embedded,
            anchor,
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
    _check_coverage(name, signature, status, document_timestamps, data, anchor, out)
    _check_certification(name, reader, signature, out)
    _after_validation(name, name, status, moment, anchor, out)
    if read_scope:
        _read_scope_attachment(reader, name, out)


def _check_coverage(
    name, signature, status, document_timestamps, data: bytes, anchor: _Anchor, out: _Collector
) -> None:
    """The signature covers the file, or only LTV updates closed by a document timestamp follow."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE and not document_timestamps:
        out.ok(f"{name} coverage", f"{name}: the signature covers the whole file")
        return
    lta_only = (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level == ModificationLevel.LTA_UPDATES
    )
    last = document_timestamps[-1] if document_timestamps else None
    if not lta_only or last is None or _signed_end(last) != len(data):
        after = len(data) - _signed_end(last if last is not None else signature)
        detail = f"{after} bytes after the last signed range; " if after > 0 else ""
        out.fail(
            f"{name} coverage",
            f"{name}: the signature does not cover the whole file ({detail}content was added after signing)",
        )
        return
    for timestamp in document_timestamps:
        ts_status = validate_pdf_timestamp(timestamp, validation_context=anchor.timestamp_context())
        if not (ts_status.intact and ts_status.valid):
            out.fail(f"{name} document timestamp", f"{name}: a document timestamp does not verify")
            return
    tsa = last.signer_cert.subject.human_friendly
    out.ok(
        f"{name} coverage",
        f"{name}: signed revision followed only by long-term validation data (DSS) and "
        f"a document timestamp by {tsa} covering the whole file",
    )


def _signed_end(signature) -> int:
    byte_range = [int(value) for value in signature.sig_object["/ByteRange"]]
    return byte_range[2] + byte_range[3]


def _check_padding(name: str, signature, data: bytes, out: _Collector) -> None:
    """The unsigned /Contents gap holds `<hex of the CMS signature, then zeros>` and nothing else.

    The signature cannot cover its own container, so bytes hidden in its zero padding would
    travel unsigned; a strict verifier refuses them.
    """
    byte_range = [int(value) for value in signature.sig_object["/ByteRange"]]
    if byte_range[0] != 0:
        out.fail(f"{name} byte range", f"{name}: the signed range does not start at the first byte")
        return
    gap = data[byte_range[1] : byte_range[2]]
    problem = None
    if not (gap.startswith(b"<") and gap.endswith(b">")):
        problem = "the signature container is not one hex string"
    else:
        try:
            raw = bytes.fromhex(gap[1:-1].decode("ascii"))
            der_length = len(asn1_core.load(raw[: _der_length(raw)]).dump())
            if any(raw[der_length:]):
                problem = f"{len(raw) - der_length} padding bytes after the signature are not all zero"
        except (ValueError, UnicodeDecodeError):
            problem = "the signature container is not valid hex-encoded DER"
    if problem:
        out.fail(f"{name} padding", f"{name}: {problem} (bytes outside the signed range)")


def _der_length(raw: bytes) -> int:
    """Total length of the DER value at the start of `raw` (tag, length and content)."""
    if len(raw) < 2:
        raise ValueError("too short")
    first = raw[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        raise ValueError("bad DER length")
    return 2 + count + int.from_bytes(raw[2 : 2 + count], "big")


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


def describe_scope(scope: SignedScope | None) -> Iterable[str]:
    """Lines for people: what the signed content says the package covers."""
    if scope is None:
        yield "covers: unknown (no signed findings.json read)"
        return
    period = scope.period or "unknown"
    if scope.period_start and scope.period_end:
        period += f" [{scope.period_start} .. {scope.period_end})"
    yield f"period: {period} (from {scope.source})"
    yield f"organisation: {scope.organization or 'not stated'}"
    yield f"repositories: {', '.join(scope.repositories) if scope.repositories else 'none listed'}"
    if scope.demo:
        yield "DEMO evidence: not production data"
