"""`soc2-audit verify` and `soc2-audit sign` as an auditor and a workflow run them, on the
demo package that `report` wrote (one session-wide run, see tests/conftest.py)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def demo(demo_report):
    return demo_report | {"ca": demo_report["cwd"] / "demo-keys" / "ca.pem"}


def verify(demo, *args: str):
    return run_cli("verify", *args, cwd=demo["cwd"], env=demo["env"])


def test_unpinned_verify_exits_3_with_the_fingerprint_and_never_says_verified(demo):
    result = verify(demo, str(demo["dir"]))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "verified" not in result.stdout.lower().replace("not verified", "")
    last = result.stdout.splitlines()[-1]
    assert last.startswith("NOT PINNED: integrity holds") and "--signer-fingerprint" in last
    fingerprint = next(
        line.split()[-1] for line in result.stdout.splitlines() if line.startswith("certificate SHA-256")
    )
    assert fingerprint in last
    assert result.stderr == ""


def test_pinned_verify_prints_what_the_signed_content_covers(demo):
    result = verify(demo, str(demo["dir"]), "--trust", str(demo["ca"]), "--period", "2024Q2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "period: 2024Q2 [2024-04-01T00:00:00+00:00 .. 2024-07-01T00:00:00+00:00) (from findings.json)" in lines
    assert any(line.startswith("organisation: ") and "not stated" not in line for line in lines)
    assert "repositories: acme-fintech/ledger, acme-fintech/payments-api" in lines
    assert lines[-1].startswith("verified: every signature, hash and seal holds, signed by the trusted CA in ca.pem")


def test_fingerprint_pin_and_wrong_period(demo):
    unpinned = verify(demo, str(demo["dir"] / "report.pdf"))
    fingerprint = next(
        line.split()[-1] for line in unpinned.stdout.splitlines() if line.startswith("certificate SHA-256")
    )
    assert verify(demo, str(demo["dir"] / "report.pdf"), "--signer-fingerprint", fingerprint.upper()).returncode == 0
    wrong = verify(demo, str(demo["dir"]), "--signer-fingerprint", fingerprint, "--period", "2024Q1")
    assert wrong.returncode == 1 and "covers 2024Q2, not the expected 2024Q1" in wrong.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--signer-fingerprint", "abc"], "64 hex digits"),
        (["--at", "next tuesday"], "--at 'next tuesday'"),
        (["--revocation", "maybe"], "--revocation"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(demo, args, message):
    result = verify(demo, str(demo["dir"]), *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_sign_signs_the_unsigned_package_render_wrote(demo, tmp_path):
    unsigned = tmp_path / "2024Q2"
    render = run_cli(
        "render",
        "--quarter",
        "2024Q2",
        "--db",
        str(demo["db"]),
        "--output",
        str(unsigned),
        cwd=demo["cwd"],
        env=demo["env"],
    )
    assert render.returncode == 0, render.stderr
    assert not (unsigned / "SHA256SUMS").exists()
    signed = run_cli("sign", str(unsigned), cwd=demo["cwd"], env=demo["env"])
    assert signed.returncode == 0, signed.stderr
    assert verify(demo, str(unsigned), "--trust", str(demo["ca"])).returncode == 0
    again = run_cli("sign", str(unsigned), cwd=demo["cwd"], env=demo["env"])
    assert again.returncode == 2 and "already signed" in again.stderr
    production = unsigned.parent / "production"
    shutil.copytree(unsigned, production)
    for name in ("SHA256SUMS", "SHA256SUMS.p7s", "report.html.p7s", "signer.pem"):
        (production / name).unlink()
    findings = production / "findings.json"
    findings.write_text(findings.read_text().replace('"demo": true', '"demo": false'))
    refused = run_cli("sign", str(production), cwd=demo["cwd"], env=demo["env"])
    assert refused.returncode == 2 and "AUDIT_SIGNING_KEY" in refused.stderr
