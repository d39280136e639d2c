"""The signed package, checked with the tools an auditor has: sha256sum and openssl."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from audit.signing import sign_package, verify_path
from tests.signing.conftest import copy_package

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl missing")
needs_sha256sum = pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils missing")

EXPECTED_FILES = {
    "SHA256SUMS",
    "SHA256SUMS.p7s",
    "evidence.db",
    "findings.json",
    "population.csv",
    "report.html",
    "report.html.p7s",
    "report.pdf",
    "signer.pem",
}


def test_package_holds_exactly_the_documented_files(signed_package_template):
    assert {p.name for p in signed_package_template.iterdir()} == EXPECTED_FILES


def test_sha256sums_lists_every_file_but_itself_sorted(signed_package_template):
    lines = (signed_package_template / "SHA256SUMS").read_text().splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(EXPECTED_FILES - {"SHA256SUMS", "SHA256SUMS.p7s"})
    assert all(len(line.split("  ", 1)[0]) == 64 for line in lines)


@needs_sha256sum
def test_sha256sum_check_passes(signed_package_template):
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=signed_package_template,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_openssl
@pytest.mark.parametrize("content", ["SHA256SUMS", "report.html"])
def test_openssl_verifies_detached_signature(signed_package_template, content):
    result = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", f"{content}.p7s", "-content", content,
            "-CAfile", "signer.pem", "-purpose", "any", "-out", "/dev/null",
        ],
        cwd=signed_package_template,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


@needs_openssl
def test_openssl_rejects_detached_signature_over_edited_content(package):
    (package / "report.html").write_text("<p>edited</p>", encoding="utf-8")
    result = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", "report.html.p7s", "-content", "report.html",
            "-CAfile", "signer.pem", "-purpose", "any", "-out", "/dev/null",
        ],
        cwd=package,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode != 0


@needs_openssl
def test_detached_signature_carries_chain_and_signing_time(signed_package_template):
    result = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", "SHA256SUMS.p7s"],
        cwd=signed_package_template,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "signingTime" in result.stdout
    assert "DEMO signer" in result.stdout and "DEMO CA" in result.stdout
    assert "eContent: <ABSENT>" in result.stdout  # detached


def test_signer_pem_is_the_chain_leaf_first(signed_package_template, identity):
    assert (signed_package_template / "signer.pem").read_bytes() == identity.chain_pem()
    assert identity.chain[0].subject != identity.chain[-1].subject


def test_no_key_material_in_the_package(signed_package_template, demo_key_dir):
    key_bytes = [p.read_bytes() for p in demo_key_dir.iterdir() if p.name.endswith(".key")]
    assert key_bytes
    for path in signed_package_template.iterdir():
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data, path.name
        for key in key_bytes:
            assert key not in data and key.splitlines()[1] not in data, path.name


def test_pkcs12_bytes_never_reach_the_package(identity, tmp_path, monkeypatch):
    from audit.signing import load_identity, sign_package
    from tests.signing.conftest import make_unsigned_package
    from tests.signing.test_identity import PASSWORD, make_p12

    p12 = make_p12(tmp_path / "prod.p12", identity)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(p12))
    monkeypatch.setenv("AUDIT_SIGNING_KEY_PASSWORD", PASSWORD)
    directory = make_unsigned_package(tmp_path / "out" / "2024Q2")
    sign_package(directory, load_identity(demo=False))
    p12_bytes = p12.read_bytes()
    for path in directory.iterdir():
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data and p12_bytes[:64] not in data, path.name
        assert PASSWORD.encode() not in data, path.name
    assert verify_path(directory).ok


def test_signed_pdf_keeps_file_mode(signed_package_template):
    assert (signed_package_template / "report.pdf").stat().st_mode & 0o044 == 0o044


def test_verify_path_accepts_the_untouched_package(signed_package_template, identity):
    report = verify_path(signed_package_template)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert report.signer == identity.subject
    assert report.fingerprint_sha256 == identity.fingerprint_sha256
    assert report.signed_at is not None
    checked = " ".join(c.message for c in report.checks)
    for name in EXPECTED_FILES - {"SHA256SUMS.p7s"}:
        assert name in checked


def test_signing_a_package_never_reloads_the_private_key(
    identity, ca_pem, unsigned_package_template, tmp_path, monkeypatch
):
    """pyHanko's SimpleSigner re-reads (and re-validates) the key for every signature; ours
    signs with the key the identity loaded once. The package must still verify."""
    import pyhanko.sign.signers.pdf_cms as pdf_cms

    loads = []
    original = pdf_cms.serialization.load_der_private_key
    monkeypatch.setattr(
        pdf_cms.serialization, "load_der_private_key", lambda *a, **k: loads.append(1) or original(*a, **k)
    )
    package = copy_package(unsigned_package_template, tmp_path / "package")
    sign_package(package, identity)
    assert loads == []
    assert verify_path(package, trust=ca_pem).exit_code == 0
