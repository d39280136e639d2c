"""The signing identity: one private key and its certificate chain.

Production signs with a PKCS#12 file named by `AUDIT_SIGNING_KEY` (password in
`AUDIT_SIGNING_KEY_PASSWORD`). Demo mode signs with a self-signed demo CA and signer made
on first use and kept outside the output directory, so no key material ever travels with
an evidence package. Both demo subjects say "DEMO" so nobody mistakes demo evidence for
production evidence.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from audit.errors import UsageError

if TYPE_CHECKING:
    from pyhanko.sign.signers import SimpleSigner

DEMO_CA_NAME = "soc2-audit DEMO CA — not for production evidence"
DEMO_SIGNER_NAME = "soc2-audit DEMO signer — not for production evidence"
DEMO_ORGANIZATION = "soc2-audit demo mode"
DEMO_KEY_SIZE = 3072
# Long enough that a demo package signed today still verifies when an auditor replays it
# years later; the demo CA has no revocation service, so lifetime is the only limit.
DEMO_CA_VALIDITY = dt.timedelta(days=365 * 20)
DEMO_SIGNER_VALIDITY = dt.timedelta(days=365 * 10)

# id-kp-documentSigning (RFC 9336): verification refuses signers without a document-signing
# EKU. The demo signer also carries emailProtection only because pdfsig (NSS) accepts no
# other purpose for a signer; an e-mail certificate without documentSigning is still refused.
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

_SIGNER_KEY_FILE = "signer.key"
_CHAIN_FILE = "chain.pem"
DEMO_CA_FILE = "ca.pem"
"""The demo CA alone, beside the key: what `make verify` pins for demo packages."""


@dataclass(frozen=True)
class SigningIdentity:
    """A private key with its certificate chain. Its repr never shows key material."""

    private_key: rsa.RSAPrivateKey = field(repr=False, compare=False)
    """The signer's private key (any key type pyHanko signs with; RSA in practice)."""

    chain: tuple[x509.Certificate, ...] = field(repr=False)
    """The certificate chain, signer certificate first, then its issuers up to the root."""

    demo: bool
    """True when this is the self-signed demo identity, not a production key."""

    subject: str
    """The signer certificate's subject, RFC 4514 form."""

    fingerprint_sha256: str
    """SHA-256 of the signer certificate (DER), lowercase hex."""

    @property
    def certificate(self) -> x509.Certificate:
        """The signer (leaf) certificate."""
        return self.chain[0]

    def chain_pem(self) -> bytes:
        """The chain as concatenated PEM, leaf first: the content of `signer.pem`."""
        return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in self.chain)

    def pyhanko_signer(self) -> SimpleSigner:
        """A pyHanko signer embedding the whole chain in every signature."""
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        from audit.signing.signer import LoadedKeySigner

        key_info = asn1_keys.PrivateKeyInfo.load(
            self.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        certs = [to_asn1(cert) for cert in self.chain]
        return LoadedKeySigner(
            signing_cert=certs[0],
            signing_key=key_info,
            cert_registry=SimpleCertificateStore.from_certs(certs),
            loaded_key=self.private_key,
        )


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto form of a certificate, which pyHanko works with."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of a certificate, lowercase hex without separators."""
    return cert.fingerprint(hashes.SHA256()).hex()


def _identity(private_key, chain: list[x509.Certificate], *, demo: bool) -> SigningIdentity:
    leaf = chain[0]
    return SigningIdentity(
        private_key=private_key,
        chain=tuple(chain),
        demo=demo,
        subject=leaf.subject.rfc4514_string(),
        fingerprint_sha256=fingerprint(leaf),
    )


def order_chain(leaf: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
    """The chain from `leaf` up through `others` by issuer name; unrelated certs dropped."""
    chain = [leaf]
    remaining = [cert for cert in others if cert != leaf]
    while chain[-1].issuer != chain[-1].subject:
        issuer = next((c for c in remaining if c.subject == chain[-1].issuer), None)
        if issuer is None:
            break
        chain.append(issuer)
        remaining.remove(issuer)
    return chain


def load_identity(*, demo: bool) -> SigningIdentity:
    """The identity to sign with: `AUDIT_SIGNING_KEY` if set, else the demo identity in demo mode.

    Outside demo mode a missing key is a usage error: production evidence is never signed
    with a demo key by accident.
    """
    key_path = os.environ.get("AUDIT_SIGNING_KEY")
    if key_path:
        password = os.environ.get("AUDIT_SIGNING_KEY_PASSWORD")
        return load_pkcs12(Path(key_path), password.encode() if password is not None else None)
    if demo:
        return demo_identity()
    raise UsageError(
        "no signing key: set AUDIT_SIGNING_KEY to a PKCS#12 file (and AUDIT_SIGNING_KEY_PASSWORD), or run in demo mode"
    )


def load_pkcs12(path: Path, password: bytes | None) -> SigningIdentity:
    """The identity in a PKCS#12 file. Errors name the file, never the password."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read signing key {path} (AUDIT_SIGNING_KEY): {err.strerror}") from None
    try:
        private_key, leaf, others = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError):
        # cryptography says "Invalid password or PKCS12 data"; keep our own wording so
        # nothing about the password can leak into the message.
        raise UsageError(
            f"cannot open signing key {path}: wrong AUDIT_SIGNING_KEY_PASSWORD or not a PKCS#12 file"
        ) from None
    if private_key is None or leaf is None:
        raise UsageError(f"signing key {path} holds no private key with its certificate")
    if _public_der(private_key.public_key()) != _public_der(leaf.public_key()):
        raise UsageError(f"signing key {path}: the certificate does not match the private key")
    return _identity(private_key, order_chain(leaf, list(others)), demo=False)


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def default_demo_directory() -> Path:
    """Where the demo identity lives: `$AUDIT_DEMO_KEY_DIR` or ~/.cache/soc2-audit/demo-signer."""
    configured = os.environ.get("AUDIT_DEMO_KEY_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "soc2-audit" / "demo-signer"


def demo_identity(directory: Path | None = None) -> SigningIdentity:
    """The demo identity, made once in `directory` and reused afterwards."""
    directory = directory or default_demo_directory()
    if (directory / _SIGNER_KEY_FILE).exists() and not (directory / DEMO_CA_FILE).exists():
        # Made by a version whose demo signer had no document-signing usage: replace it.
        shutil.rmtree(directory, ignore_errors=True)
    if not (directory / _SIGNER_KEY_FILE).exists():
        _create_demo_identity(directory)
    try:
        private_key = serialization.load_pem_private_key((directory / _SIGNER_KEY_FILE).read_bytes(), password=None)
        certs = x509.load_pem_x509_certificates((directory / _CHAIN_FILE).read_bytes())
    except (OSError, ValueError) as err:
        raise UsageError(
            f"demo signing identity in {directory} is unreadable ({err.__class__.__name__}); "
            "delete the directory to make a new one"
        ) from None
    return _identity(private_key, order_chain(certs[0], certs[1:]), demo=True)


def _create_demo_identity(directory: Path) -> None:
    """Write a fresh demo CA certificate and signer key + certificate into `directory`.

    Built in a sibling temporary directory and renamed into place, so a concurrent run
    never sees half an identity. The CA's private key is discarded: nothing else can
    ever be issued under the demo CA.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-signer-", dir=directory.parent))
    try:
        staging.chmod(0o700)
        ca_cert, signer_key, signer_cert = _make_demo_certificates()
        key_path = staging / _SIGNER_KEY_FILE
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(
                signer_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        (staging / _CHAIN_FILE).write_bytes(
            signer_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
        )
        (staging / DEMO_CA_FILE).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        try:
            staging.rename(directory)
        except OSError:
            # Someone else made it first (or an empty directory is in the way).
            if (directory / _SIGNER_KEY_FILE).exists():
                return
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)
            for name in (DEMO_CA_FILE, _CHAIN_FILE, _SIGNER_KEY_FILE):
                os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_demo_certificates():
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_before = now - dt.timedelta(hours=1)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=DEMO_KEY_SIZE)
    ca_name = _name(DEMO_CA_NAME)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + DEMO_CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=DEMO_KEY_SIZE)
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(DEMO_SIGNER_NAME))
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + DEMO_SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, signer_key, signer_cert
