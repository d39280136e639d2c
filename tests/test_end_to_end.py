"""The README's promise: `report` on the built-in demo writes a signed, verifiable package.

Drives the real CLI in a subprocess; the CLI starts the fake GitHub on 127.0.0.1 and the
real PyGithub client extracts from it over HTTP.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess

from tests.conftest import run_cli

CONTROL_IDS = [
    "change.reviewed",
    "deploy.approved",
    "deploy.dual_control",
    "deploy.independent",
    "deploy.timely",
    "tests.passed",
    "scan.clean",
    "deploy.from_main",
    "evidence.retained",
    "change.emergency_reviewed",
]


def test_report_writes_every_output(demo_report):
    out = demo_report["dir"]
    for name in (
        "report.pdf",
        "report.html",
        "report.html.p7s",
        "population.csv",
        "population.xlsx",
        "findings.json",
        "evidence.db",
        "SHA256SUMS",
        "SHA256SUMS.p7s",
        "signer.pem",
    ):
        assert (out / name).is_file(), name
    assert "DEMO MODE" in demo_report["result"].stderr


def test_findings_hold_a_real_population_with_exceptions(demo_report):
    findings = json.loads((demo_report["dir"] / "findings.json").read_text())
    assert findings["quarter"] == "2024Q2" and findings["demo"] is True
    assert findings["period"] == {
        "start": "2024-04-01T00:00:00+00:00",
        "end": "2024-07-01T00:00:00+00:00",
        "timezone": "UTC",
    }
    assert [c["id"] for c in findings["controls"]] == CONTROL_IDS
    assert len(findings["deployments"]) >= 200
    for control in findings["controls"]:
        assert sum(control["counts"].values()) == len(findings["deployments"])
        assert control["counts"]["fail"] + control["counts"]["not_available"] > 0, control["id"]
    emergency = next(c for c in findings["controls"] if c["id"] == "change.emergency_reviewed")
    assert emergency["counts"]["pass"] > 0 and emergency["counts"]["not_applicable"] > 200
    assert {d["repository"] for d in findings["deployments"]} == {"acme-fintech/payments-api", "acme-fintech/ledger"}
    for deployment in findings["deployments"]:
        assert "2024-04-01" <= deployment["created_at"][:10] < "2024-07-01"
        assert set(deployment["controls"]) == set(CONTROL_IDS)
        assert str(deployment["run_id"]) in deployment["controls"]["deploy.approved"]["detail"]


def test_population_csv_matches_findings(demo_report):
    findings = json.loads((demo_report["dir"] / "findings.json").read_text())
    with (demo_report["dir"] / "population.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(findings["deployments"])
    assert list(rows[0])[:16] == [
        "repository",
        "run_id",
        "run_attempt",
        "environment",
        "head_sha",
        "head_branch",
        "actor",
        "triggering_actor",
        "created_at",
        "outcome",
        "pr_number",
        "pr_author",
        "pr_approvers",
        "deploy_approvers",
        "approval_requested_at",
        "approved_at",
    ]
    assert list(rows[0])[16:] == [*CONTROL_IDS, "oidc_token"]
    by_run = {(d["repository"], str(d["run_id"])): d for d in findings["deployments"]}
    for row in rows:
        deployment = by_run[(row["repository"], row["run_id"])]
        assert row["scan.clean"] == deployment["controls"]["scan.clean"]["verdict"]


def test_pdf_says_demo_on_every_page(demo_report):
    pdf = demo_report["dir"] / "report.pdf"
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages >= 3
    for page in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "DEMO" in text, f"page {page} lacks the DEMO marking"


def test_pdfsig_and_verify_accept_the_untouched_package(demo_report):
    out = demo_report["dir"]
    pdfsig = subprocess.run(["pdfsig", str(out / "report.pdf")], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout, pdfsig.stdout + pdfsig.stderr
    demo_ca = demo_report["cwd"] / "demo-keys" / "ca.pem"
    verified = run_cli("verify", str(out), "--trust", str(demo_ca), cwd=demo_report["cwd"], env=demo_report["env"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "evidence rows match their seals" in verified.stdout


def test_verify_rejects_a_pdf_with_one_byte_changed(demo_report, tmp_path):
    tampered = tmp_path / "pkg"
    shutil.copytree(demo_report["dir"], tampered)
    pdf = tampered / "report.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    result = run_cli("verify", str(pdf), cwd=demo_report["cwd"], env=demo_report["env"])
    assert result.returncode == 1, result.stdout + result.stderr
    result = run_cli("verify", str(tampered), cwd=demo_report["cwd"], env=demo_report["env"])
    assert result.returncode == 1


def test_second_report_reuses_captured_evidence(demo_report, tmp_path):
    """Re-running on the same store spends a small fraction of the first run's requests."""
    import sqlite3

    db = sqlite3.connect(demo_report["db"])
    first = db.execute("select requests from extractions order by extraction_id limit 1").fetchone()[0]
    db.close()
    result = run_cli(
        "extract", "--quarter", "2024Q2", "--db", str(demo_report["db"]), cwd=demo_report["cwd"], env=demo_report["env"]
    )
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(demo_report["db"])
    second = db.execute("select requests from extractions order by extraction_id desc limit 1").fetchone()[0]
    assert second < first / 10, (first, second)
