"""The signing identity: demo CA on first use, PKCS#12 in production, clear usage errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from audit.errors import UsageError
from audit.signing import demo_identity, load_identity

PASSWORD = "correct horse battery staple"


def make_p12(path: Path, identity, password: str = PASSWORD) -> Path:
    """A PKCS#12 file holding the demo key and chain (standing in for a production key)."""
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name=b"audit signer",
            key=identity.private_key,
            cert=identity.certificate,
            cas=list(identity.chain[1:]),
            encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
        )
    )
    return path


@pytest.fixture
def no_key_env(monkeypatch, demo_key_dir):
    monkeypatch.delenv("AUDIT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("AUDIT_SIGNING_KEY_PASSWORD", raising=False)
    monkeypatch.setenv("AUDIT_DEMO_KEY_DIR", str(demo_key_dir))


def test_demo_identity_is_labelled_demo_in_both_subjects(identity):
    assert identity.demo is True
    assert "DEMO" in identity.certificate.subject.rfc4514_string()
    assert "DEMO" in identity.chain[-1].subject.rfc4514_string()
    assert "DEMO" in identity.subject
    assert len(identity.chain) == 2


def test_demo_signer_certificate_suits_document_signing(identity):
    cert = identity.certificate
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert cert.public_key().key_size == 3072
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days >= 365 * 5


def test_demo_identity_is_made_once_and_reused(identity, demo_key_dir):
    again = demo_identity(demo_key_dir)
    assert again.fingerprint_sha256 == identity.fingerprint_sha256


def test_demo_key_files_are_private(identity, demo_key_dir):
    assert stat.S_IMODE(demo_key_dir.stat().st_mode) == 0o700
    key_files = [p for p in demo_key_dir.iterdir() if b"PRIVATE KEY" in p.read_bytes()]
    assert key_files
    for key_file in key_files:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_demo_directory_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_DEMO_KEY_DIR", str(tmp_path / "keys"))
    made = demo_identity()
    assert (tmp_path / "keys").is_dir()
    assert made.demo


def test_repr_shows_no_key_material(identity):
    text = repr(identity)
    pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assert "PRIVATE" not in text and "private_key" not in text
    assert pem.splitlines()[1] not in text
    assert identity.fingerprint_sha256 in text


def test_demo_mode_without_key_uses_demo_identity(no_key_env, identity):
    assert load_identity(demo=True).fingerprint_sha256 == identity.fingerprint_sha256


def test_no_key_outside_demo_mode_is_a_usage_error(no_key_env):
    with pytest.raises(UsageError, match="AUDIT_SIGNING_KEY"):
        load_identity(demo=False)


def test_pkcs12_key_is_used_even_in_demo_mode(no_key_env, identity, tmp_path, monkeypatch):
    p12 = make_p12(tmp_path / "signer.p12", identity)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(p12))
    monkeypatch.setenv("AUDIT_SIGNING_KEY_PASSWORD", PASSWORD)
    for demo in (False, True):
        loaded = load_identity(demo=demo)
        assert loaded.demo is False
        assert loaded.fingerprint_sha256 == identity.fingerprint_sha256
        assert [c.subject for c in loaded.chain] == [c.subject for c in identity.chain]


def test_wrong_password_names_the_file_not_the_password(no_key_env, identity, tmp_path, monkeypatch):
    p12 = make_p12(tmp_path / "signer.p12", identity)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(p12))
    monkeypatch.setenv("AUDIT_SIGNING_KEY_PASSWORD", "hunter2-wrong")
    with pytest.raises(UsageError) as caught:
        load_identity(demo=False)
    message = str(caught.value)
    assert str(p12) in message
    assert "hunter2" not in message and PASSWORD not in message
    assert "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("content", [None, b"not a pkcs12 file"], ids=["missing file", "garbage file"])
def test_unreadable_key_file_is_a_usage_error(no_key_env, tmp_path, monkeypatch, content):
    key_path = tmp_path / "signer.p12"
    if content is not None:
        key_path.write_bytes(content)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(key_path))
    monkeypatch.setenv("AUDIT_SIGNING_KEY_PASSWORD", PASSWORD)
    with pytest.raises(UsageError, match="signer.p12") as caught:
        load_identity(demo=False)
    assert PASSWORD not in str(caught.value)


def test_the_key_loads_without_pyhanko_imported_while_the_pdf_is_drawn(identity, demo_key_dir, tmp_path):
    """`soc2-audit report` loads the signing key (made by `identity`) before its capture; pyHanko (0.4 s)
    is imported only while it waits for the PDF, just before it signs."""
    import subprocess
    import sys

    script = """
import sys
from audit.signing import load_identity
from audit.pipeline import _SigningReadied
identity = load_identity(demo=True)
assert identity.certificate is not None
print(any(name.startswith("pyhanko") for name in sys.modules))

class Drawer:
    def finish(self):
        print("pyhanko" if "audit.signing.package" in sys.modules else "none")

_SigningReadied(Drawer()).finish()
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AUDIT_DEMO_KEY_DIR": str(demo_key_dir)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "pyhanko"]
