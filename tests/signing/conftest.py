"""Fixtures for signing tests: one demo identity and one signed package per session.

Signing costs a couple of seconds (RSA-3072 and font subsetting), so the package is built
once and each tamper test works on its own copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import weasyprint
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from audit.seal import seal_extraction
from audit.signing import SigningIdentity, demo_identity, sign_package
from audit.store import open_store, snapshot, upsert_all

REPORT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SOC 2 evidence 2024Q2</title></head>
<body><h1>Change management evidence, 2024Q2</h1><p>Two deployments.</p>
<p style="break-before: page">Exceptions: none.</p></body></html>
"""
POPULATION_CSV = "repository,run_id,outcome\nacme/api,101,success\nacme/api,102,failure\n"
FINDINGS = {
    "quarter": "2024Q2",
    "period": {"start": "2024-04-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00", "timezone": "UTC"},
    "demo": True,
    "organization": "acme",
    "repositories": ["acme/api"],
}


def write_report_pdf(path: Path, html: str = REPORT_HTML, findings: dict = FINDINGS) -> Path:
    """A real PDF/A-3b from weasyprint with population.csv attached, as render writes it."""
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(
        path,
        pdf_variant="pdf/a-3b",
        attachments=[
            weasyprint.Attachment(string=POPULATION_CSV, base_url=str(path.parent), name="population.csv"),
            weasyprint.Attachment(string=json.dumps(findings), base_url=str(path.parent), name="findings.json"),
        ],
    )
    return path


def make_unsigned_package(directory: Path, findings: dict = FINDINGS) -> Path:
    """An output/<QUARTER>/ directory as render leaves it, before signing."""
    directory.mkdir(parents=True, exist_ok=True)
    write_report_pdf(directory / "report.pdf", findings=findings)
    (directory / "report.html").write_text(REPORT_HTML, encoding="utf-8")
    (directory / "population.csv").write_text(POPULATION_CSV, encoding="utf-8")
    (directory / "findings.json").write_text(json.dumps(findings) + "\n", encoding="utf-8")
    write_sealed_store(directory / "evidence.db")
    return directory


def write_sealed_store(path: Path, *, tsa_url: str | None = None) -> Path:
    """A real evidence store with two sealed extraction runs, as extract leaves it."""
    store_path = path.with_name(path.name + ".work")
    db = open_store(store_path)
    upsert_all(db, "workflow_runs", [workflow_run(101, created_at="2024-04-02T10:00:00Z")])
    seal_extraction(db, 1, api_url="http://127.0.0.1", tsa_url=tsa_url)
    upsert_all(db, "workflow_runs", [workflow_run(102, created_at="2024-05-02T10:00:00Z")])
    seal_extraction(db, 2, api_url="http://127.0.0.1", tsa_url=tsa_url)
    snapshot(db, path)
    db.close()
    for leftover in store_path.parent.glob(store_path.name + "*"):
        leftover.unlink()
    return path


def workflow_run(run_id: int, **overrides) -> dict:
    row = {
        "repository": "acme/api",
        "run_id": run_id,
        "run_attempt": 1,
        "head_branch": "main",
        "head_sha": f"{run_id:040x}",
        "actor": "alice",
        "triggering_actor": "alice",
        "created_at": "2024-04-02T10:00:00Z",
        "captured_at": "2024-04-08T00:00:00+00:00",
    }
    return row | overrides


def ca_pem_of(identity: SigningIdentity) -> bytes:
    """The root of the identity's chain, PEM."""
    from cryptography.hazmat.primitives import serialization

    return identity.chain[-1].public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def demo_key_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-keys") / "demo-signer"


@pytest.fixture(scope="session")
def identity(demo_key_dir) -> SigningIdentity:
    return demo_identity(demo_key_dir)


@pytest.fixture(scope="session")
def ca_pem(identity, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "demo-ca.pem"
    path.write_bytes(ca_pem_of(identity))
    return path


@pytest.fixture(scope="session")
def unsigned_package_template(tmp_path_factory) -> Path:
    """One render of the unsigned package: copy it (`copy_package`) rather than render again."""
    return make_unsigned_package(tmp_path_factory.mktemp("unsigned") / "2024Q2")


def copy_package(template: Path, destination: Path) -> Path:
    return Path(shutil.copytree(template, destination))


@pytest.fixture(scope="session")
def signed_package_template(identity, tmp_path_factory) -> Path:
    directory = make_unsigned_package(tmp_path_factory.mktemp("package") / "2024Q2")
    unsigned_pdf = (directory / "report.pdf").read_bytes()
    sign_package(directory, identity)
    (directory.parent / "unsigned-report.pdf").write_bytes(unsigned_pdf)
    return directory


@pytest.fixture
def package(signed_package_template, tmp_path) -> Path:
    """A private copy of the signed package, free to tamper with."""
    return Path(shutil.copytree(signed_package_template, tmp_path / "2024Q2"))


@pytest.fixture(scope="session")
def unsigned_report_bytes(signed_package_template) -> bytes:
    return (signed_package_template.parent / "unsigned-report.pdf").read_bytes()


@dataclass(frozen=True)
class LocalTsa:
    url: str
    root_pem: Path


@contextlib.contextmanager
def tsa_server(directory: Path, fixed_dt: dt.datetime | None = None) -> Iterator[LocalTsa]:
    """An RFC 3161 TSA on 127.0.0.1 (pyHanko's DummyTimeStamper behind real HTTP), so the
    production HTTP client code path is exercised. `fixed_dt` None: it stamps the real time."""
    from audit.signing.identity import to_asn1
    from tests.signing.pki import authority, key, name

    root = authority("tsa-root", name("Test TSA root"))
    leaf = root.issue(
        "tsa", name("Test TSA"), usage={"digital_signature": True}, ekus=[ExtendedKeyUsageOID.TIME_STAMPING]
    )
    stamper = DummyTimeStamper(
        tsa_cert=to_asn1(leaf.certificate),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key("tsa").private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(root.certificate)]),
        fixed_dt=fixed_dt,
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

    root_pem = directory / "tsa-root.pem"
    root_pem.write_bytes(root.pem())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", root_pem)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def live_tsa(tmp_path_factory) -> Iterator[LocalTsa]:
    """A TSA stamping the real time (for long-term validation tests)."""
    with tsa_server(tmp_path_factory.mktemp("live-tsa")) as tsa:
        yield tsa


@pytest.fixture(scope="session")
def live_tsa_url(live_tsa) -> str:
    return live_tsa.url
