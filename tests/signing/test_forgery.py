"""The forgery battery: what an attacker with their own keys (or the auditee with the real
one) would try. Each attempt is rejected (exit 1), or ends at exit 3 when the auditor gave
no trust anchor — never at "verified"."""

from __future__ import annotations

import shutil
import sqlite3
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from audit.signing import sign_detached, sign_package, verify_path
from audit.signing.verify import is_self_signed
from tests.signing.conftest import FINDINGS, copy_package, make_unsigned_package
from tests.signing.pki import EMAIL_PROTECTION, NOW, authority, name

GENUINE_SUBJECT = name("Evidence signer", "Acme Corp")
GENUINE_CA_SUBJECT = name("Acme Corp Document CA", "Acme Corp")


def failures(report) -> list[str]:
    return [check.message for check in report.checks if not check.ok]


def rejected_naming(report, *words: str) -> bool:
    return report.exit_code == 1 and any(all(w in m for w in words) for m in failures(report))


@pytest.fixture(scope="module")
def org_ca():
    return authority("org-ca", GENUINE_CA_SUBJECT)


@pytest.fixture(scope="module")
def genuine(org_ca):
    return org_ca.document_signer("genuine-signer", GENUINE_SUBJECT)


@pytest.fixture(scope="module")
def org_ca_pem(org_ca, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("org-trust") / "acme-ca.pem"
    path.write_bytes(org_ca.pem())
    return path


@pytest.fixture(scope="module")
def genuine_template(genuine, unsigned_package_template, tmp_path_factory) -> Path:
    directory = copy_package(unsigned_package_template, tmp_path_factory.mktemp("genuine") / "2024Q2")
    sign_package(directory, genuine, visible_stamp=False)
    return directory


@pytest.fixture
def forge(unsigned_package_template, tmp_path):
    """What a forger does: edit the evidence, re-render, sign everything with their own key."""

    def forged_package(identity) -> Path:
        directory = copy_package(unsigned_package_template, tmp_path / "forged" / "2024Q2")
        (directory / "population.csv").write_text("repository,run_id,outcome\nacme/api,101,success\n")
        sign_package(directory, identity, visible_stamp=False)
        return directory

    return forged_package


@pytest.fixture
def genuine_package(genuine_template, tmp_path) -> Path:
    return Path(shutil.copytree(genuine_template, tmp_path / "2024Q2"))


def test_genuine_package_verifies_with_either_anchor(genuine_package, org_ca_pem, genuine):
    assert verify_path(genuine_package, trust=org_ca_pem).exit_code == 0
    pinned = ":".join(genuine.fingerprint_sha256[i : i + 2].upper() for i in range(0, 64, 2))
    assert verify_path(genuine_package, signer_fingerprint=pinned).exit_code == 0


def test_genuine_package_without_anchor_is_exit_3_with_the_fingerprint(genuine_package, genuine):
    report = verify_path(genuine_package)
    assert report.ok and not report.verified and report.exit_code == 3
    assert report.fingerprint_sha256 == genuine.fingerprint_sha256


def test_resigned_with_an_unrelated_key(forge, org_ca_pem, genuine):
    stranger = authority("stranger-ca", name("Stranger CA")).document_signer("stranger", name("Stranger"))
    forged = forge(stranger)
    assert rejected_naming(verify_path(forged, trust=org_ca_pem), "does not chain to", "acme-ca.pem")
    assert rejected_naming(verify_path(forged, signer_fingerprint=genuine.fingerprint_sha256), "not the pinned")
    unpinned = verify_path(forged)
    assert unpinned.exit_code == 3 and unpinned.fingerprint_sha256 != genuine.fingerprint_sha256


def test_resigned_with_a_look_alike_key(forge, org_ca_pem, genuine):
    """Same names all the way up, different keys: only an anchor tells them apart."""
    look_alike = authority("look-alike-ca", GENUINE_CA_SUBJECT).document_signer("look-alike", GENUINE_SUBJECT)
    assert look_alike.subject == genuine.subject
    forged = forge(look_alike)
    assert rejected_naming(verify_path(forged, trust=org_ca_pem), "does not chain to")
    assert rejected_naming(verify_path(forged, signer_fingerprint=genuine.fingerprint_sha256), "not the pinned")
    assert verify_path(forged).exit_code == 3


def test_expired_certificate_from_the_trusted_ca(forge, org_ca, org_ca_pem):
    expired = org_ca.document_signer(
        "expired-signer",
        GENUINE_SUBJECT,
        not_before=NOW.replace(year=NOW.year - 2),
        not_after=NOW.replace(year=NOW.year - 1),
    )
    forged = forge(expired)
    assert rejected_naming(verify_path(forged, trust=org_ca_pem), "refused", "expired")
    # Defect: signer.pem's certificates all became trust roots, so expiry was never checked.
    assert rejected_naming(verify_path(forged), "refused", "expired")


def test_certificate_without_key_usage(forge, org_ca, org_ca_pem):
    bare = org_ca.issue("bare-signer", GENUINE_SUBJECT, usage=None, ekus=None)
    forged = forge(bare)
    assert rejected_naming(verify_path(forged, trust=org_ca_pem), "no digitalSignature/nonRepudiation key usage")
    assert rejected_naming(verify_path(forged), "no document-signing extended key usage")


def test_email_certificate_from_the_trusted_ca(forge, org_ca, org_ca_pem):
    email = org_ca.issue(
        "employee", name("Mallory Employee", "Acme Corp"), usage={"digital_signature": True}, ekus=[EMAIL_PROTECTION]
    )
    forged = forge(email)
    assert rejected_naming(verify_path(forged, trust=org_ca_pem), "no document-signing extended key usage")


def test_second_signer_from_the_trusted_ca_inside_one_package(genuine_package, org_ca, org_ca_pem):
    colleague = org_ca.document_signer("colleague", name("Other evidence signer", "Acme Corp"))
    html = genuine_package / "report.html"
    html.write_text("<p>replaced</p>", encoding="utf-8")
    sign_detached(html, colleague)
    report = verify_path(html, trust=org_ca_pem)
    assert rejected_naming(report, "signer.pem")
    # Both signatures are, on their own, from the trusted CA: one signer per package catches it.
    (genuine_package / "signer.pem").unlink()
    assert rejected_naming(verify_path(genuine_package, trust=org_ca_pem), "2 different certificates")


def test_package_from_another_period(tmp_path, genuine, org_ca_pem):
    other = make_unsigned_package(tmp_path / "2024Q1", FINDINGS | {"quarter": "2024Q1"})
    sign_package(other, genuine, visible_stamp=False)
    report = verify_path(other, trust=org_ca_pem, period="2024Q2")
    assert rejected_naming(report, "covers 2024Q1, not the expected 2024Q2")
    assert rejected_naming(verify_path(other / "report.pdf", trust=org_ca_pem, period="2024Q2"), "covers 2024Q1")
    assert verify_path(other, trust=org_ca_pem, period="2024q1").exit_code == 0
    assert verify_path(other, trust=org_ca_pem).scope.period == "2024Q1"


def test_junk_sha256sums_named_file(genuine_package, org_ca_pem):
    (genuine_package / "SHA256SUMS-fixed.csv").write_text("repository,run_id,outcome\n")
    report = verify_path(genuine_package, trust=org_ca_pem)
    assert rejected_naming(report, "SHA256SUMS-fixed.csv", "not listed")


def test_bytes_hidden_in_the_signature_padding(genuine_package, org_ca_pem):
    pdf = genuine_package / "report.pdf"
    data = bytearray(pdf.read_bytes())
    signature = PdfFileReader(BytesIO(bytes(data))).embedded_signatures[0]
    byte_range = [int(value) for value in signature.sig_object["/ByteRange"]]
    gap_end = byte_range[2] - 1  # the closing '>' of the hex string
    assert data[gap_end - 8 : gap_end] == b"00000000"
    data[gap_end - 8 : gap_end] = b"deadbeef"
    pdf.write_bytes(bytes(data))
    # The signature itself still validates: the padding is outside the signed range.
    alone = verify_path(pdf, trust=org_ca_pem)
    assert rejected_naming(alone, "report.pdf", "padding bytes after the signature are not all zero")
    assert [m for m in failures(alone) if "padding" not in m] == []


def test_evidence_row_edited_after_sealing_and_signed_with_the_genuine_key(
    unsigned_package_template, tmp_path, genuine, org_ca_pem
):
    """The auditee holds the real key: only the seals show the store was doctored."""
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    with sqlite3.connect(directory / "evidence.db") as conn:
        conn.execute("update workflow_runs set actor = 'mallory' where run_id = 101")
    conn.close()
    sign_package(directory, genuine, visible_stamp=False)
    report = verify_path(directory, trust=org_ca_pem)
    assert rejected_naming(report, "evidence.db", 'workflow_runs ["acme/api",101]', "changed after it was sealed")


def test_asn1crypto_maybe_is_not_self_signed():
    """asn1crypto answers "maybe" for any certificate whose subject equals its issuer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from audit.signing.identity import to_asn1
    from tests.signing.pki import key

    same_names = (
        x509.CertificateBuilder()
        .subject_name(GENUINE_CA_SUBJECT)
        .issuer_name(GENUINE_CA_SUBJECT)
        .public_key(key("claimed").public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW.replace(year=NOW.year + 1))
        .sign(key("actual-issuer"), hashes.SHA256())
    )
    assert to_asn1(same_names).self_signed == "maybe"
    assert not is_self_signed(to_asn1(same_names))
    assert is_self_signed(to_asn1(authority("real-root", name("Real root")).certificate))
