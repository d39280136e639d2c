"""Verification hygiene: exact exemptions, no link following, streamed hashing, quiet
libraries, revocation through pyHanko's validation context."""

from __future__ import annotations

import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from audit.errors import EvidenceError, UsageError
from audit.signing import sign_package, verify_path
from audit.signing.package import sums_text
from tests.signing.conftest import copy_package
from tests.signing.pki import authority, name


def failures(report) -> list[str]:
    return [check.message for check in report.checks if not check.ok]


def test_a_file_named_like_sha256sums_is_signed_like_any_other(unsigned_package_template, tmp_path):
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    (directory / "SHA256SUMS-notes.txt").write_text("listed, not exempt\n")
    assert "  SHA256SUMS-notes.txt\n" in sums_text(directory)


def test_signing_lists_every_file_by_directory_listing(unsigned_package_template, tmp_path, identity):
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    (directory / "population.xlsx").write_bytes(os.urandom(3 << 20))
    sign_package(directory, identity, visible_stamp=False)
    assert "  population.xlsx\n" in (directory / "SHA256SUMS").read_text()
    assert verify_path(directory).ok


def test_hashing_is_streamed_never_whole_files(unsigned_package_template, tmp_path, identity, monkeypatch):
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    (directory / "population.xlsx").write_bytes(os.urandom(3 << 20))
    sign_package(directory, identity, visible_stamp=False)
    real_read = Path.read_bytes

    def read_small_files_only(path: Path) -> bytes:
        assert path.stat().st_size < (1 << 20), f"{path.name} read whole"
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_small_files_only)
    assert verify_path(directory).ok
    assert verify_path(directory / "population.xlsx").ok


def test_a_link_to_a_device_is_refused_not_read(signed_package_template, tmp_path):
    directory = copy_package(signed_package_template, tmp_path / "2024Q2")
    (directory / "notes").symlink_to("/dev/zero")
    assert failures(verify_path(directory)) == ["notes: a link, directory or device but not listed in SHA256SUMS"]
    (directory / "population.csv").unlink()
    (directory / "population.csv").symlink_to("/dev/zero")
    assert "population.csv: listed in SHA256SUMS but not a regular file (link, directory or device)" in failures(
        verify_path(directory)
    )


def test_signing_refuses_links(unsigned_package_template, tmp_path, identity):
    directory = copy_package(unsigned_package_template, tmp_path / "2024Q2")
    (directory / "notes").symlink_to("/dev/zero")
    with pytest.raises(EvidenceError, match="notes: not a regular file"):
        sign_package(directory, identity, visible_stamp=False)


def test_tampered_page_leaves_stderr_silent(signed_package_template, tmp_path, capfd):
    """pyHanko's difference analysis logged 167 KB for one tampered page."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes((signed_package_template / "report.pdf").read_bytes())
    with pdf.open("r+b") as handle:
        writer = IncrementalPdfFileWriter(handle)
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        extra = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (PASS) Tj ET"))
        page["/Contents"] = (
            generic.ArrayObject([*page["/Contents"], extra])
            if isinstance(page["/Contents"], generic.ArrayObject)
            else generic.ArrayObject([page.raw_get("/Contents"), extra])
        )
        writer.update_container(page)
        writer.write_in_place()
    logging.getLogger("pyhanko").setLevel(logging.NOTSET)
    report = verify_path(pdf)
    assert not report.ok
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_bad_fingerprint_and_both_anchors_are_usage_errors(signed_package_template, ca_pem):
    with pytest.raises(UsageError, match="64 hex digits"):
        verify_path(signed_package_template, signer_fingerprint="abc")
    with pytest.raises(UsageError, match="not both"):
        verify_path(signed_package_template, trust=ca_pem, signer_fingerprint="00" * 32)


# --- revocation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def crl_server():
    """Serves whatever CRL the test puts in `served["crl"]` on 127.0.0.1."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = served.get("crl")
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ca.crl", served
    finally:
        server.shutdown()
        server.server_close()


def test_revocation_hard_consults_the_crl_and_soft_does_not(
    crl_server, unsigned_package_template, tmp_path_factory, tmp_path
):
    url, served = crl_server
    ca = authority("revoking-ca", name("Revoking CA"))
    signer = ca.document_signer("revoked-signer", name("Revoked signer"), crl_url=url)
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.pem())
    directory = copy_package(unsigned_package_template, tmp_path_factory.mktemp("revoked") / "2024Q2")
    sign_package(directory, signer, visible_stamp=False)

    served["crl"] = ca.crl(revoked=[])
    assert verify_path(directory, trust=ca_pem, revocation="hard").exit_code == 0
    served["crl"] = ca.crl(revoked=[signer.certificate])
    hard = verify_path(directory, trust=ca_pem, revocation="hard")
    assert hard.exit_code == 1 and any("REVOKED" in message.upper() for message in failures(hard)), failures(hard)
    assert verify_path(directory, trust=ca_pem, revocation="soft").exit_code == 0
    served.pop("crl")
    assert verify_path(directory, trust=ca_pem, revocation="hard").exit_code == 1
