"""Deterministic synthetic `findings` dicts, for `make bench` and for rendering tests.

`synthetic_findings(n, seed)` builds a quarter of `n` production deployments shaped exactly
like the evaluate stage's output (see `audit.render`), with a realistic mix of verdicts,
details naming the run id, and a few management responses. Same `n` and `seed` → the same
dict. The control and criteria text comes from the real control registry (`audit.controls`),
so the report is rendered with the text it ships with. It is fake data: `demo` is always
true, so anything rendered from it says DEMO on every page.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

from audit.controls import CONTROLS, criteria
from audit.evidence import VERDICTS
from audit.quarter import Quarter

CONTROL_IDS = tuple(control.id for control in CONTROLS)
"""The registered control ids in contract order."""

_PEOPLE = (
    "alice-ng",
    "bob-okafor",
    "carla-m",
    "deepak-r",
    "eve-lindqvist",
    "farid-h",
    "grace-o",
    "hiro-tanaka",
    "ines-costa",
    "jonas-weber",
    "kemi-adeyemi",
    "liam-byrne",
)
_SERVICES = (
    "ledger",
    "payments-api",
    "risk-engine",
    "kyc-service",
    "web-portal",
    "notifications",
    "card-issuing",
    "fx-rates",
    "reporting",
    "auth-gateway",
)
_PR_VERBS = ("Fix", "Add", "Refactor", "Bump", "Harden", "Remove", "Document", "Speed up")
_PR_OBJECTS = (
    "rounding in interest accrual",
    "idempotency keys on transfers",
    "retry budget for webhooks",
    "pydantic to 2.7",
    "SQL index on ledger_entries",
    "legacy v1 endpoint",
    "audit log fields",
    "currency conversion cache",
    "session timeout handling",
    "settlement batch job",
)
_RESPONSES = (
    "Emergency fix for incident INC-{n}; retrospective review completed by the CAB.",
    "Accepted risk: reviewer was on leave; change re-reviewed after deployment.",
    "Branch policy was added after this deployment; see change ticket CHG-{n}.",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _verdicts(rng: random.Random, run_id: int, deployment: dict, window: int) -> dict:
    """Plausible, mutually consistent verdicts for one synthetic deployment."""
    has_pr = deployment["pr_number"] is not None
    approvers = deployment["deploy_approvers"]
    people = {*deployment["pr_approvers"], *approvers} - {
        deployment["actor"],
        deployment["triggering_actor"],
        deployment["pr_author"],
    }
    verdicts = {}
    verdicts["change.reviewed"] = (
        ("pass", f"Run {run_id}: PR #{deployment['pr_number']} approved by {', '.join(deployment['pr_approvers'])}.")
        if has_pr and deployment["pr_approvers"]
        else ("fail", f"Run {run_id}: commit {deployment['head_sha'][:7]} was pushed without a pull request.")
        if not has_pr
        else ("fail", f"Run {run_id}: PR #{deployment['pr_number']} was merged without an approving review.")
    )
    if deployment["outcome"] == "rejected":
        verdicts["deploy.approved"] = ("fail", f"Run {run_id}: the production approval was rejected.")
    elif approvers:
        verdicts["deploy.approved"] = ("pass", f"Run {run_id}: approved by {', '.join(approvers)}.")
    else:
        verdicts["deploy.approved"] = (
            "fail",
            f"Run {run_id}: production has no required reviewers, so nobody approved it.",
        )
    verdicts["deploy.dual_control"] = (
        ("pass", f"Run {run_id}: {len(people)} distinct approvers ({', '.join(sorted(people))}).")
        if len(people) >= 2
        else ("fail", f"Run {run_id}: only {len(people)} distinct approver(s), 2 required.")
    )
    if not approvers:
        verdicts["deploy.independent"] = ("not_applicable", f"Run {run_id}: no deployment approver.")
    elif deployment["actor"] in approvers:
        verdicts["deploy.independent"] = ("fail", f"Run {run_id}: {deployment['actor']} approved their own deployment.")
    else:
        verdicts["deploy.independent"] = ("pass", f"Run {run_id}: every approver is independent.")
    if deployment["approval_requested_at"] is None and approvers:
        verdicts["deploy.timely"] = ("not_available", f"Run {run_id}: deployment statuses expired before capture.")
    elif not approvers:
        verdicts["deploy.timely"] = ("not_applicable", f"Run {run_id}: no approval to time.")
    elif window > 120:
        verdicts["deploy.timely"] = ("fail", f"Run {run_id}: approved {window} minutes after the request (window 120).")
    else:
        verdicts["deploy.timely"] = ("pass", f"Run {run_id}: approved after {window} minutes.")
    roll = rng.random()
    verdicts["tests.passed"] = (
        ("fail", f"Run {run_id}: job 'test (3.11)' concluded failure before deploy.")
        if roll < 0.02
        else ("error", f"Run {run_id}: job list could not be parsed.")
        if roll < 0.025
        else ("pass", f"Run {run_id}: test jobs succeeded before the deploy job started.")
    )
    roll = rng.random()
    verdicts["scan.clean"] = (
        ("fail", f"Run {run_id}: pip-audit reports 1 finding at or above high (PYSEC-2024-{run_id % 97}).")
        if roll < 0.03
        else ("not_available", f"Run {run_id}: scan artifact 'bandit-report' expired before capture.")
        if roll < 0.05
        else ("pass", f"Run {run_id}: bandit and pip-audit reports show no finding at or above high.")
    )
    verdicts["deploy.from_main"] = (
        ("pass", f"Run {run_id}: deployed from main.")
        if deployment["head_branch"] == "main"
        else ("fail", f"Run {run_id}: deployed from {deployment['head_branch']}, not an allowed branch.")
    )
    verdicts["evidence.retained"] = (
        ("fail", f"Run {run_id}: deployment statuses were lost to retention.")
        if deployment["approval_requested_at"] is None and approvers
        else ("pass", f"Run {run_id}: approvals, statuses and scan artifacts captured.")
    )
    # A control this generator does not model (one registered later) applies to none of them.
    unmodelled = ("not_applicable", f"Run {run_id}: not applicable to this synthetic deployment.")
    return {
        cid: {"verdict": verdicts.get(cid, unmodelled)[0], "detail": verdicts.get(cid, unmodelled)[1]}
        for cid in CONTROL_IDS
    }


def _deployment(rng: random.Random, run_id: int, repository: str, created: datetime) -> dict:
    actor = rng.choice(_PEOPLE)
    has_pr = rng.random() > 0.03
    pr_author = actor if rng.random() < 0.8 else rng.choice(_PEOPLE)
    others = [person for person in _PEOPLE if person != pr_author]
    approver_count = rng.choices((0, 1, 2), (0.03, 0.77, 0.20))[0]
    pr_approvers = sorted(rng.sample(others, approver_count)) if has_pr else []
    rejected = rng.random() < 0.01
    deploy_approvers = [] if rejected or rng.random() < 0.02 else [rng.choice(others)]
    window = int(rng.expovariate(1 / 25)) + 1
    statuses_lost = rng.random() < 0.01
    requested = created + timedelta(minutes=rng.randint(4, 15))
    deployment = {
        "repository": repository,
        "run_id": run_id,
        "run_attempt": 2 if rng.random() < 0.05 else 1,
        "environment": "production",
        "head_sha": f"{rng.getrandbits(160):040x}",
        "head_branch": "main" if rng.random() > 0.02 else rng.choice(("hotfix/ledger-rounding", "release/2024-05")),
        "actor": actor,
        "triggering_actor": actor if rng.random() > 0.05 else rng.choice(_PEOPLE),
        "created_at": _iso(created),
        "outcome": "rejected" if rejected else rng.choices(("success", "failure", "cancelled"), (0.94, 0.04, 0.02))[0],
        "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
        "pr_number": rng.randint(100, 4000) if has_pr else None,
        "pr_author": pr_author if has_pr else None,
        "pr_title": f"{rng.choice(_PR_VERBS)} {rng.choice(_PR_OBJECTS)}" if has_pr else None,
        "pr_approvers": pr_approvers,
        "deploy_approvers": deploy_approvers,
        "approval_requested_at": None if statuses_lost else _iso(requested),
        "approved_at": (None if statuses_lost or not deploy_approvers else _iso(requested + timedelta(minutes=window))),
    }
    deployment["controls"] = _verdicts(rng, run_id, deployment, window)
    responses = {}
    for control_id, result in deployment["controls"].items():
        if result["verdict"] == "fail" and rng.random() < 0.3:
            responses[control_id] = {
                "response": rng.choice(_RESPONSES).format(n=rng.randint(1000, 9999)),
                "author": "compliance-lead",
                "recorded_at": _iso(created + timedelta(days=3)),
                "reference": f"CHG-{rng.randint(10000, 99999)}",
            }
    deployment["responses"] = responses
    return deployment


def synthetic_findings(n: int, seed: int = 0, *, quarter: str = "2024Q2") -> dict:
    """A findings dict of `n` synthetic deployments in `quarter`, identical for the same seed."""
    rng = random.Random(seed)
    start, end = Quarter.parse(quarter).bounds("UTC")
    organization = "acme-fintech"
    repositories = sorted(f"{organization}/{name}" for name in _SERVICES[: max(2, min(10, n // 50))])
    span = (end - start).total_seconds()
    moments = sorted(start + timedelta(seconds=int(rng.random() * span)) for _ in range(n))
    deployments = [
        _deployment(rng, 9_100_000_000 + index * 7, rng.choice(repositories), moment)
        for index, moment in enumerate(moments)
    ]
    deployments.sort(key=lambda d: (d["created_at"], d["repository"], d["run_id"]))

    controls = []
    for control in CONTROLS:
        counts = dict.fromkeys(VERDICTS, 0)
        for deployment in deployments:
            counts[deployment["controls"][control.id]["verdict"]] += 1
        controls.append(
            {
                "id": control.id,
                "title": control.title,
                "question": control.question,
                "rationale": control.rationale,
                "remediation": control.remediation,
                "criteria": list(control.criteria),
                "counts": counts,
            }
        )

    windows, extraction_log = [], []
    month_starts = [start, start + timedelta(days=30), start + timedelta(days=61), end]
    for repository in repositories:
        for window_start, window_end in zip(month_starts, month_starts[1:], strict=False):
            count = sum(
                1
                for d in deployments
                if d["repository"] == repository and _iso(window_start) <= d["created_at"] < _iso(window_end)
            )
            created = f"{window_start.date().isoformat()}..{(window_end - timedelta(days=1)).date()}"
            windows.append({"repository": repository, "created": created, "total_count": count, "fetched": count})
            extraction_log.append(
                {
                    "repository": repository,
                    "query": "GET /repos/{owner}/{repo}/actions/runs",
                    "params": {"created": created, "per_page": 100},
                    "started_at": _iso(end + timedelta(hours=5, minutes=len(extraction_log))),
                    "total_count": count,
                    "rows": count,
                    "requests": 1 + count // 100 + count * 3,
                    "rate_remaining": max(0, 4999 - len(extraction_log) * 40),
                }
            )
    lost = [
        {"repository": d["repository"], "run_id": d["run_id"], "what": "deployment statuses"}
        for d in deployments
        if d["controls"]["evidence.retained"]["verdict"] == "fail"
    ]
    sample_items = rng.sample(deployments, min(25, n))
    sample_items.sort(key=lambda d: (d["created_at"], d["repository"], d["run_id"]))

    return {
        "quarter": quarter,
        "period": {"start": _iso(start), "end": _iso(end), "timezone": "UTC"},
        "generated_at": _iso(end + timedelta(hours=6, minutes=10)),
        "generator": {"name": "soc2-audit", "version": version("soc2-audit")},
        "demo": True,
        "organization": organization,
        "repositories": repositories,
        "settings": {
            "production_environments": ["production"],
            "required_approvers": 2,
            "approval_window_minutes": 120,
            "test_jobs": ["test", "test (*)"],
            "scan_jobs": ["security-scan", "security-scan (*)"],
            "max_severity": "high",
            "allowed_branches": [],
            "timezone": "UTC",
        },
        "completeness": {
            "complete": True,
            "windows": windows,
            "deployments_api": n,
            "runs_with_production_job": n,
            "mismatches": [],
            "evidence_lost": lost,
        },
        "extraction_log": extraction_log,
        "controls": controls,
        "criteria": criteria(),
        "deployments": deployments,
        "sample": {
            "seed": f"audit-{quarter}-{seed}",
            "size": len(sample_items),
            "algorithm": "SHA-256 of seed and run key, lowest digests first",
            "items": [
                {"repository": d["repository"], "run_id": d["run_id"], "environment": d["environment"]}
                for d in sample_items
            ],
        }
        if n
        else None,
    }
