"""Strict verification: every tamper case fails with a message naming what changed."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from audit.errors import UsageError
from audit.signing import demo_identity, sign_detached, verify_path
from tests.signing.conftest import ca_pem_of
from tests.signing.test_pdf import demo_trust


@pytest.fixture(scope="session")
def other_identity(tmp_path_factory):
    """A second, unrelated demo CA and signer: what a forger would have."""
    return demo_identity(tmp_path_factory.mktemp("other-keys") / "demo-signer")


@pytest.fixture(scope="session")
def other_ca_pem(other_identity, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("other-trust") / "other-ca.pem"
    path.write_bytes(ca_pem_of(other_identity))
    return path


def failures(report) -> list[str]:
    return [check.message for check in report.checks if not check.ok]


def assert_fails_naming(report, *words: str) -> None:
    assert not report.ok
    messages = failures(report)
    assert any(all(word in message for word in words) for message in messages), messages


def append_metadata_update(pdf: Path) -> None:
    """What a careless (or crafty) tool does: an incremental update changing only the title."""
    with pdf.open("r+b") as handle:
        writer = IncrementalPdfFileWriter(handle)
        writer.document_meta.title = "Nothing to see here"
        writer.write_in_place()


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# --- tamper cases on the whole package -----------------------------------------------


def test_flipped_byte_in_signed_pdf_content(package, unsigned_report_bytes):
    pdf = package / "report.pdf"
    flip_byte(pdf, len(unsigned_report_bytes) // 2)
    assert_fails_naming(verify_path(package), "report.pdf", "SHA-256 differs")
    assert_fails_naming(verify_path(pdf), "report.pdf")


def test_changed_signature_value(package):
    pdf = package / "report.pdf"
    data = bytearray(pdf.read_bytes())
    signature = PdfFileReader(BytesIO(bytes(data))).embedded_signatures[0]
    value_hex = signature.signer_info["signature"].native.hex()
    position = bytes(data).lower().find(value_hex.encode())
    assert position > 0
    middle = position + len(value_hex) // 2
    data[middle] = ord("1") if data[middle] == ord("0") else ord("0")
    pdf.write_bytes(bytes(data))
    assert_fails_naming(verify_path(pdf), "report.pdf", "does not verify")
    assert_fails_naming(verify_path(package), "report.pdf", "SHA-256 differs")


def test_incremental_metadata_update_is_tampering(package, identity):
    pdf = package / "report.pdf"
    append_metadata_update(pdf)
    # The cryptography alone still holds: only strict coverage catches this.
    signature = PdfFileReader(BytesIO(pdf.read_bytes())).embedded_signatures[0]
    status = validate_pdf_signature(signature, demo_trust(identity))
    assert status.intact and status.valid
    report = verify_path(pdf)
    assert_fails_naming(report, "report.pdf", "after signing")
    assert_fails_naming(report, "report.pdf", "does not cover the whole file")
    assert_fails_naming(verify_path(package), "report.pdf", "SHA-256 differs")


def test_edited_report_html(package):
    html = package / "report.html"
    html.write_text(html.read_text() + "<!-- edited -->", encoding="utf-8")
    report = verify_path(package)
    assert_fails_naming(report, "report.html", "SHA-256 differs from SHA256SUMS")
    assert_fails_naming(report, "report.html", "differs from what report.html.p7s signed")
    assert_fails_naming(verify_path(html), "report.html", "report.html.p7s")


def test_edited_population_csv(package):
    csv = package / "population.csv"
    csv.write_text(csv.read_text().replace("failure", "success"), encoding="utf-8")
    report = verify_path(package)
    assert failures(report) == ["population.csv: SHA-256 differs from SHA256SUMS"]
    assert_fails_naming(verify_path(csv), "population.csv", "SHA-256 differs")


def test_edited_csv_with_sha256sums_rewritten_to_match(package):
    import hashlib

    csv = package / "population.csv"
    csv.write_text("repository,run_id,outcome\n", encoding="utf-8")
    sums = package / "SHA256SUMS"
    new_digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    lines = [
        f"{new_digest}  population.csv" if line.endswith("  population.csv") else line
        for line in sums.read_text().splitlines()
    ]
    sums.write_text("\n".join(lines) + "\n")
    assert_fails_naming(verify_path(package), "SHA256SUMS", "differs from what SHA256SUMS.p7s")


def test_extra_unlisted_file(package):
    (package / "notes.txt").write_text("added later", encoding="utf-8")
    report = verify_path(package)
    assert failures(report) == ["notes.txt: present but not listed in SHA256SUMS"]


def test_listed_file_deleted(package):
    (package / "evidence.db").unlink()
    assert_fails_naming(verify_path(package), "evidence.db", "missing")


def test_missing_sums_signature(package):
    (package / "SHA256SUMS.p7s").unlink()
    assert_fails_naming(verify_path(package), "SHA256SUMS", "SHA256SUMS.p7s")


def test_pdf_replaced_by_the_unsigned_render(package, unsigned_report_bytes):
    (package / "report.pdf").write_bytes(unsigned_report_bytes)
    assert_fails_naming(verify_path(package / "report.pdf"), "report.pdf", "no signature")


def test_html_re_signed_by_someone_else(package, other_identity):
    html = package / "report.html"
    html.write_text("<p>forged</p>", encoding="utf-8")
    sign_detached(html, other_identity)
    report = verify_path(html)
    assert_fails_naming(report, "report.html", "signer.pem")


def test_garbage_pdf_is_a_failed_check_not_an_exception(tmp_path):
    garbage = tmp_path / "report.pdf"
    garbage.write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    assert_fails_naming(verify_path(garbage), "report.pdf")


def test_garbage_cms_signature_is_a_failed_check(package):
    (package / "report.html.p7s").write_bytes(b"\x30\x03\x02\x01\x01")
    assert_fails_naming(verify_path(package / "report.html"), "report.html.p7s")


# --- trust ---------------------------------------------------------------------------


def test_given_trust_root_that_signed_passes(package, ca_pem):
    report = verify_path(package, trust=ca_pem)
    assert report.ok, failures(report)
    assert any("demo-ca.pem" in check.message for check in report.checks)


def test_wrong_trust_root_fails_every_signature(package, other_ca_pem):
    report = verify_path(package, trust=other_ca_pem)
    for signed in ("report.pdf", "report.html", "SHA256SUMS"):
        assert_fails_naming(report, signed, "does not chain to", "other-ca.pem")


def test_unreadable_trust_file_is_a_usage_error(package, tmp_path):
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello")
    with pytest.raises(UsageError, match="not-a-cert.pem"):
        verify_path(package, trust=bad)


def test_replaced_signer_pem_fails(package, other_identity):
    (package / "signer.pem").write_bytes(other_identity.chain_pem())
    report = verify_path(package)
    assert_fails_naming(report, "signer.pem", "SHA-256 differs")
    assert_fails_naming(report, "report.pdf", "signer.pem")


# --- single files and usage ----------------------------------------------------------


@pytest.mark.parametrize("name", ["report.pdf", "report.html", "report.html.p7s", "SHA256SUMS", "population.csv"])
def test_single_untouched_file_verifies(signed_package_template, name):
    report = verify_path(signed_package_template / name)
    assert report.ok, failures(report)


def test_single_pdf_without_signer_pem_uses_embedded_chain(signed_package_template, tmp_path):
    lone = tmp_path / "report.pdf"
    lone.write_bytes((signed_package_template / "report.pdf").read_bytes())
    report = verify_path(lone)
    assert report.ok, failures(report)


def test_nonexistent_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="missing-dir"):
        verify_path(tmp_path / "missing-dir")


def test_empty_directory_fails(tmp_path):
    report = verify_path(tmp_path)
    assert_fails_naming(report, "SHA256SUMS", "missing")
    assert_fails_naming(report, "report.pdf", "missing")
