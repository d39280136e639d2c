"""Our own small PKI for attack tests: CAs and signers with exactly the flaws under test.

Keys are RSA-2048 (tests only) and made once per process per name, since key generation
is the slow part.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from audit.signing import SigningIdentity
from audit.signing.identity import DOCUMENT_SIGNING_EKU, fingerprint

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SIGNING_USAGE = {"digital_signature": True, "content_commitment": True}
CA_USAGE = {"key_cert_sign": True, "crl_sign": True}


@functools.cache
def key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def key_usage(**flags: bool) -> x509.KeyUsage:
    fields = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{field: flags.get(field, False) for field in fields})


@dataclass(frozen=True)
class Authority:
    """A CA we hold the key of."""

    key_name: str
    certificate: x509.Certificate

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        key_name: str,
        subject: x509.Name,
        *,
        usage: dict[str, bool] | None = None,
        ekus: list[x509.ObjectIdentifier] | None = None,
        not_before: dt.datetime = NOW - dt.timedelta(days=1),
        not_after: dt.datetime = NOW + dt.timedelta(days=365),
        crl_url: str | None = None,
    ) -> SigningIdentity:
        """A signer certificate under this CA; `usage=None`/`ekus=None` omit the extension."""
        signer_key = key(key_name)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(signer_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key(self.key_name).public_key()), critical=False
            )
        )
        if usage is not None:
            builder = builder.add_extension(key_usage(**usage), critical=True)
        if ekus is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        if crl_url is not None:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
                ),
                critical=False,
            )
        leaf = builder.sign(key(self.key_name), hashes.SHA256())
        return identity_of(signer_key, [leaf, self.certificate])

    def document_signer(self, key_name: str, subject: x509.Name, **overrides) -> SigningIdentity:
        """A proper document-signing certificate (the kind verify accepts)."""
        options = {"usage": SIGNING_USAGE, "ekus": [DOCUMENT_SIGNING_EKU]} | overrides
        return self.issue(key_name, subject, **options)

    def crl(self, revoked: list[x509.Certificate]) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(NOW - dt.timedelta(hours=1))
            .next_update(NOW + dt.timedelta(days=7))
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(NOW - dt.timedelta(minutes=30))
                .build()
            )
        return builder.sign(key(self.key_name), hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def authority(key_name: str, subject: x509.Name) -> Authority:
    ca_key = key(key_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(**CA_USAGE), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Authority(key_name, certificate)


def identity_of(private_key, chain: list[x509.Certificate]) -> SigningIdentity:
    return SigningIdentity(
        private_key=private_key,
        chain=tuple(chain),
        demo=False,
        subject=chain[0].subject.rfc4514_string(),
        fingerprint_sha256=fingerprint(chain[0]),
    )


EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION
