"""PAdES B-T: an RFC 3161 timestamp from a test TSA on 127.0.0.1 (pyHanko's DummyTimeStamper
behind a real HTTP endpoint, so the production HTTP client code path is exercised)."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from audit.errors import UsageError
from audit.signing import sign_package, verify_path
from tests.signing.conftest import make_unsigned_package, tsa_server

FIXED_TIME = dt.datetime(2024, 7, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tsa_url(tmp_path_factory):
    with tsa_server(tmp_path_factory.mktemp("tsa"), fixed_dt=FIXED_TIME) as tsa:
        yield tsa.url


@pytest.fixture(scope="module")
def timestamped_package(identity, tsa_url, tmp_path_factory):
    directory = make_unsigned_package(tmp_path_factory.mktemp("b-t") / "2024Q2")
    sign_package(directory, identity, tsa_url=tsa_url)
    return directory


def test_pdf_signature_carries_the_tsa_timestamp(timestamped_package):
    reader = PdfFileReader(BytesIO((timestamped_package / "report.pdf").read_bytes()))
    unsigned_attrs = reader.embedded_signatures[0].signer_info["unsigned_attrs"]
    assert "signature_time_stamp_token" in [attr["type"].native for attr in unsigned_attrs]


def test_verify_reports_the_timestamp_as_signing_time(timestamped_package):
    report = verify_path(timestamped_package)
    assert report.ok, [c.message for c in report.checks if not c.ok]
    assert report.signed_at == FIXED_TIME
    timestamp_checks = [c for c in report.checks if c.name.endswith("timestamp")]
    assert {c.name for c in timestamp_checks} >= {"report.pdf timestamp", "SHA256SUMS.p7s timestamp"}
    assert all("Test TSA" in c.message for c in timestamp_checks)


def test_unreachable_tsa_is_one_clear_error_and_leaves_the_pdf_unsigned(identity, tmp_path):
    directory = make_unsigned_package(tmp_path / "2024Q2")
    unsigned = (directory / "report.pdf").read_bytes()
    with pytest.raises(UsageError, match="AUDIT_TSA_URL"):
        sign_package(directory, identity, tsa_url="http://127.0.0.1:9/tsa")
    assert (directory / "report.pdf").read_bytes() == unsigned
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []


# --- PAdES B-LTA and validation after the certificate expired ------------------------


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory):
    """A document signer from our own CA that expires tomorrow, and that CA's PEM."""
    from tests.signing.pki import NOW, authority, name

    ca = authority("short-lived-ca", name("Short-lived test CA"))
    signer = ca.document_signer("short-lived", name("Short-lived signer"), not_after=NOW + dt.timedelta(days=1))
    ca_pem = tmp_path_factory.mktemp("short-lived") / "ca.pem"
    ca_pem.write_bytes(ca.pem())
    return signer, ca_pem


@pytest.fixture(scope="module")
def lta_package(short_lived, live_tsa, unsigned_package_template, tmp_path_factory):
    from tests.signing.conftest import copy_package

    directory = copy_package(unsigned_package_template, tmp_path_factory.mktemp("b-lta") / "2024Q2")
    sign_package(directory, short_lived[0], tsa_url=live_tsa.url, visible_stamp=False)
    return directory


def test_pdf_carries_a_dss_and_a_document_timestamp_over_the_whole_file(lta_package, short_lived):
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    data = (lta_package / "report.pdf").read_bytes()
    reader = PdfFileReader(BytesIO(data))
    dss_certs = {cert.dump() for cert in DocumentSecurityStore.read_dss(reader).load_certs()}
    assert {cert.public_bytes(serialization.Encoding.DER) for cert in short_lived[0].chain} <= dss_certs
    (document_timestamp,) = reader.embedded_timestamp_signatures
    byte_range = [int(value) for value in document_timestamp.sig_object["/ByteRange"]]
    assert byte_range[2] + byte_range[3] == len(data)


def test_validates_years_later_through_a_trusted_timestamp(lta_package, short_lived, live_tsa):
    signer, ca_pem = short_lived
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    report = verify_path(lta_package, trust=ca_pem, tsa_trust=live_tsa.root_pem, at=later)
    assert report.exit_code == 0, [c.message for c in report.checks if not c.ok]
    # Without trusting the TSA, nothing vouches for the signing time: the certificate has expired.
    untrusted = verify_path(lta_package, trust=ca_pem, at=later)
    assert untrusted.exit_code == 1
    assert any("expired" in c.message for c in untrusted.checks if not c.ok)


def test_without_a_timestamp_an_expired_certificate_fails(short_lived, unsigned_package_template, tmp_path, live_tsa):
    from tests.signing.conftest import copy_package

    signer, ca_pem = short_lived
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    sign_package(directory, signer, visible_stamp=False)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert verify_path(directory, trust=ca_pem, at=later).exit_code == 1
    assert verify_path(directory, trust=ca_pem, tsa_trust=live_tsa.root_pem, at=later).exit_code == 1
    assert verify_path(directory, trust=ca_pem).exit_code == 0


def test_an_update_after_the_document_timestamp_is_tampering(lta_package, short_lived, tmp_path):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes((lta_package / "report.pdf").read_bytes())
    with pdf.open("r+b") as handle:
        writer = IncrementalPdfFileWriter(handle)
        writer.document_meta.title = "Nothing to see here"
        writer.write_in_place()
    report = verify_path(pdf, trust=short_lived[1])
    assert report.exit_code == 1
    assert any("does not cover the whole file" in c.message for c in report.checks if not c.ok)
