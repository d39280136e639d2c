"""`soc2-audit summary`: findings.json as the Markdown of a GitHub Actions job summary."""

from __future__ import annotations

import json

import pytest

from audit.errors import UsageError
from audit.summary import load_findings, markdown_summary
from tests.conftest import clean_env, run_cli


def control(control_id, **counts):
    return {"id": control_id, "title": control_id, "criteria": ["CC8.1"], "counts": counts}


def deployment(run_id, **verdicts):
    return {
        "repository": "acme/api",
        "run_id": run_id,
        "environment": "production",
        "controls": {
            cid.replace("_", "."): {"verdict": v, "detail": f"Run {run_id}: {v}."} for cid, v in verdicts.items()
        },
    }


FINDINGS = {
    "quarter": "2024Q2",
    "period": {"start": "2024-04-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00", "timezone": "UTC"},
    "demo": False,
    "controls": [
        control("change.reviewed", **{"pass": 1, "fail": 1}),
        control("deploy.timely", **{"pass": 1, "not_available": 1}),
    ],
    "deployments": [
        deployment(11, change_reviewed="pass", deploy_timely="not_available"),
        deployment(12, change_reviewed="fail", deploy_timely="pass"),
    ],
}


def test_exact_markdown():
    assert markdown_summary(FINDINGS) == "\n".join(
        [
            "## SOC 2 evidence 2024Q2",
            "",
            "2 production deployments, 2024-04-01T00:00:00+00:00 to 2024-07-01T00:00:00+00:00 (UTC).",
            "",
            "| control | pass | fail | not_available | error | not_applicable |",
            "|---|---:|---:|---:|---:|---:|",
            "| `change.reviewed` | 1 | 1 | 0 | 0 | 0 |",
            "| `deploy.timely` | 1 | 0 | 1 | 0 | 0 |",
            "",
            "### Exceptions",
            "",
            "**`change.reviewed`** (1)",
            "",
            "- acme/api run 12 (production): fail: Run 12: fail.",
            "",
            "**`deploy.timely`** (1)",
            "",
            "- acme/api run 11 (production): not_available: Run 11: not_available.",
            "",
        ]
    )


def test_no_exceptions_and_demo_banner():
    findings = {**FINDINGS, "demo": True, "deployments": [deployment(11, change_reviewed="pass", deploy_timely="pass")]}
    text = markdown_summary(findings)
    assert "**DEMO data" in text and "No exceptions noted." in text


def test_exceptions_are_capped_and_cells_escaped():
    many = [deployment(n, change_reviewed="fail") for n in range(30)]
    many[0]["controls"]["change.reviewed"]["detail"] = "branch a|b <script>\nnext"
    text = markdown_summary({**FINDINGS, "deployments": many}, limit=5)
    assert text.count("- acme/api run") == 5
    assert "… and 25 more in report.html and population.csv" in text
    assert "branch a\\|b &lt;script&gt; next" in text


def test_not_findings_is_a_usage_error(tmp_path):
    (tmp_path / "findings.json").write_text("[]")
    with pytest.raises(UsageError, match="is not a findings.json"):
        load_findings(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        load_findings(tmp_path / "missing.json")


def test_cli_prints_the_summary(tmp_path):
    (tmp_path / "findings.json").write_text(json.dumps(FINDINGS))
    result = run_cli("summary", "findings.json", cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == markdown_summary(FINDINGS) + "\n"


def test_cli_on_the_demo_report(demo_report):
    result = run_cli(
        "summary", str(demo_report["dir"] / "findings.json"), cwd=demo_report["cwd"], env=demo_report["env"], timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "| `evidence.retained` |" in result.stdout and "### Exceptions" in result.stdout
