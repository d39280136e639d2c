"""Fixtures for signing tests: one demo identity and one signed package per session.

Signing costs a couple of seconds (RSA-3072 and font subsetting), so the package is built
once and each tamper test works on its own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import weasyprint

from audit.signing import SigningIdentity, demo_identity, sign_package

REPORT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SOC 2 evidence 2024Q2</title></head>
<body><h1>Change management evidence, 2024Q2</h1><p>Two deployments.</p>
<p style="break-before: page">Exceptions: none.</p></body></html>
"""
POPULATION_CSV = "repository,run_id,outcome\nacme/api,101,success\nacme/api,102,failure\n"


def write_report_pdf(path: Path, html: str = REPORT_HTML) -> Path:
    """A real PDF/A-3b from weasyprint with population.csv attached, as render writes it."""
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(
        path,
        pdf_variant="pdf/a-3b",
        attachments=[weasyprint.Attachment(string=POPULATION_CSV, base_url=str(path.parent), name="population.csv")],
    )
    return path


def make_unsigned_package(directory: Path) -> Path:
    """An output/<QUARTER>/ directory as render leaves it, before signing."""
    directory.mkdir(parents=True, exist_ok=True)
    write_report_pdf(directory / "report.pdf")
    (directory / "report.html").write_text(REPORT_HTML, encoding="utf-8")
    (directory / "population.csv").write_text(POPULATION_CSV, encoding="utf-8")
    (directory / "findings.json").write_text('{"quarter": "2024Q2"}\n', encoding="utf-8")
    (directory / "evidence.db").write_bytes(b"SQLite format 3\x00" + bytes(100))
    return directory


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
