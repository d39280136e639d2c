"""PAdES B-T: an RFC 3161 timestamp from a test TSA on 127.0.0.1 (pyHanko's DummyTimeStamper
behind a real HTTP endpoint, so the production HTTP client code path is exercised)."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from audit.errors import UsageError
from audit.signing import sign_package, verify_path
from tests.signing.conftest import make_unsigned_package

FIXED_TIME = dt.datetime(2024, 7, 1, 9, 30, tzinfo=dt.UTC)


def _cert(subject, issuer, public_key, signing_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(FIXED_TIME - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture(scope="module")
def tsa_url():
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Test TSA root", "Test TSA root", root_key.public_key(), root_key, ca=True)
    leaf = _cert("Test TSA", "Test TSA root", tsa_key.public_key(), root_key, ca=False)
    stamper = DummyTimeStamper(
        tsa_cert=_asn1(leaf),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=SimpleCertificateStore.from_certs([_asn1(root)]),
        fixed_dt=FIXED_TIME,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()


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
