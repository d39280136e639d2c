"""PAdES certification of the report PDF, checked by pdfsig, pdffonts and pyHanko itself."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    read_certification_data,
    validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext

from audit.signing import sign_pdf
from tests.signing.conftest import write_report_pdf

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils missing")
needs_certutil = pytest.mark.skipif(shutil.which("certutil") is None, reason="libnss3-tools missing")


def demo_trust(identity) -> ValidationContext:
    root = asn1_x509.Certificate.load(identity.chain[-1].public_bytes(serialization.Encoding.DER))
    return ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")


def only_signature(pdf: bytes):
    signatures = PdfFileReader(BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    return signatures[0]


def nss_db_trusting(ca_pem: Path, directory: Path) -> str:
    """A throwaway NSS database that trusts the demo CA, for `pdfsig -nssdir`."""
    directory.mkdir()
    database = f"sql:{directory}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", database, "-n", "demo-ca", "-t", "CT,C,C", "-i", str(ca_pem)],
        check=True,
    )
    return database


def test_unsigned_pdf_is_a_byte_prefix_of_the_signed_one(signed_package_template, unsigned_report_bytes):
    signed = (signed_package_template / "report.pdf").read_bytes()
    assert len(signed) > len(unsigned_report_bytes)
    assert signed.startswith(unsigned_report_bytes)


def test_pyhanko_validates_certification_over_whole_file(signed_package_template, identity):
    signature = only_signature((signed_package_template / "report.pdf").read_bytes())
    status = validate_pdf_signature(signature, demo_trust(identity))
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.md_algorithm == "sha256"
    assert signature.docmdp_level == MDPPerm.NO_CHANGES
    assert status.signing_cert.sha256.hex() == identity.fingerprint_sha256
    embedded = {c.sha256 for c in signature.other_embedded_certs}
    root_der = identity.chain[-1].public_bytes(serialization.Encoding.DER)
    assert asn1_x509.Certificate.load(root_der).sha256 in embedded


def test_certification_is_no_changes_and_pades(signed_package_template):
    reader = PdfFileReader(BytesIO((signed_package_template / "report.pdf").read_bytes()))
    certification = read_certification_data(reader)
    assert certification is not None
    assert certification.permission == MDPPerm.NO_CHANGES
    assert reader.embedded_signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_embedded_attachment_survives_signing(signed_package_template):
    reader = PdfFileReader(BytesIO((signed_package_template / "report.pdf").read_bytes()))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert "population.csv" in [str(names[i]) for i in range(0, len(names), 2)]


@needs_pdfsig
def test_pdfsig_reports_valid_signature_over_total_document(signed_package_template):
    result = subprocess.run(
        ["pdfsig", str(signed_package_template / "report.pdf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Signature Validation: Signature is Valid." in result.stdout
    assert "Total document signed" in result.stdout
    assert "DEMO signer" in result.stdout


@needs_pdfsig
@needs_certutil
def test_pdfsig_trusts_the_certificate_given_the_demo_ca(signed_package_template, ca_pem, tmp_path):
    database = nss_db_trusting(ca_pem, tmp_path / "nss")
    result = subprocess.run(
        ["pdfsig", "-nssdir", database, str(signed_package_template / "report.pdf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Signature Validation: Signature is Valid." in result.stdout
    assert "Certificate Validation: Certificate is Trusted." in result.stdout


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils missing")
def test_visible_stamp_font_is_embedded(signed_package_template):
    result = subprocess.run(
        ["pdffonts", str(signed_package_template / "report.pdf")],
        capture_output=True,
        text=True,
        check=True,
    )
    font_rows = result.stdout.splitlines()[2:]
    assert len(font_rows) >= 2  # weasyprint's fonts plus the stamp's
    for row in font_rows:
        columns = row.split()
        assert columns[-5] == "yes", f"font not embedded: {row}"


def test_visible_stamp_sits_on_the_last_page(signed_package_template):
    reader = PdfFileReader(BytesIO((signed_package_template / "report.pdf").read_bytes()))
    field = reader.embedded_signatures[0].sig_field
    last_page = reader.root["/Pages"]["/Kids"][-1].get_object()
    assert field["/P"].get_object() is last_page or field["/P"].idnum == last_page.idnum
    llx, lly, urx, ury = (float(v) for v in field["/Rect"])
    assert 0 < urx - llx <= 320 and 0 < ury - lly <= 40
    assert ury < 60  # bottom of the page


def test_invisible_signature_has_no_widget_area(identity, tmp_path):
    unsigned = write_report_pdf(tmp_path / "report.pdf")
    signed = tmp_path / "signed.pdf"
    sign_pdf(unsigned, signed, identity, visible=False)
    signature = only_signature(signed.read_bytes())
    rect = [float(v) for v in signature.sig_field.get("/Rect", [0, 0, 0, 0])]
    assert rect[2] - rect[0] == 0 and rect[3] - rect[1] == 0
    assert validate_pdf_signature(signature, demo_trust(identity)).bottom_line


def test_stamp_font_holds_every_character_of_the_stamp_and_the_signer():
    """The stamp's font is cut down before rescaling (8 s for all of DejaVu's glyphs); a
    character the stamp shows but the cut font lacks would print as an empty box."""
    from fontTools.ttLib import TTFont

    from audit.signing.pdf import STAMP_TEXT, STAMP_TIME_FORMAT, _find_stamp_font, _stamp_font

    font_file = _find_stamp_font()
    if font_file is None:
        pytest.skip("no TrueType font on this machine: the signature is invisible")
    signer = "CN=Zoë Łukasiewicz-Жуков, O=Fintech Oy"
    font = TTFont(BytesIO(_stamp_font(font_file, frozenset(signer))))
    cmap = font.getBestCmap()
    signed_at = datetime(2024, 7, 1, 9, 30, tzinfo=UTC).strftime(STAMP_TIME_FORMAT)  # the stamp's own format
    shown = STAMP_TEXT % {"signer": signer, "ts": signed_at}
    missing = {c for c in shown.replace("\n", "") if ord(c) not in cmap and ord(c) in TTFont(font_file).getBestCmap()}
    assert not missing
    assert font["head"].unitsPerEm == 1000
    assert len(font.getGlyphOrder()) < 2000  # cut down, not the whole font
