"""Findings dicts for rendering tests, built on the deterministic synthetic generator.

`make_findings(n_deployments=12)` gives a realistic quarter (some fails with details, some
management responses, a sample); keyword arguments change what a test is about.
"""

from __future__ import annotations

import copy

from benchmarks.synthetic import synthetic_findings

HOSTILE_TEMPLATES = (
    "<script>alert(1)</script>",
    '<img src="http://127.0.0.1:{port}/x">',
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/y">',
    "<style>@import url(http://127.0.0.1:{port}/z)</style>",
    '<link rel="attachment" href="file:///etc/hostname">',
)
"""Strings an attacker could put in a branch name, PR title or comment; {port} is filled in."""


def hostile_strings(port: int) -> list[str]:
    return [template.format(port=port) for template in HOSTILE_TEMPLATES]


def make_findings(
    n_deployments: int = 12,
    *,
    demo: bool = True,
    seed: int = 1,
    organization: str | None = "acme-fintech",
    sample: bool = True,
    deployments: list[dict] | None = None,
    **top_level,
) -> dict:
    """A findings dict of `n_deployments` (or exactly `deployments`, each a full row)."""
    findings = copy.deepcopy(synthetic_findings(n_deployments, seed))
    findings["demo"] = demo
    findings["organization"] = organization
    if deployments is not None:
        findings["deployments"] = deployments
    if not sample:
        findings["sample"] = None
    findings.update(top_level)
    return findings


def make_deployment(findings: dict, index: int = 0, **overrides) -> dict:
    """A copy of deployment `index` of `findings` with `overrides` applied."""
    deployment = copy.deepcopy(findings["deployments"][index])
    deployment.update(overrides)
    return deployment


def make_hostile_findings(port: int, n_deployments: int = 20) -> dict:
    """Findings whose GitHub-sourced text is hostile markup pointing at 127.0.0.1:`port`."""
    findings = make_findings(n_deployments)
    strings = hostile_strings(port)
    for index, deployment in enumerate(findings["deployments"][: len(strings) * 2]):
        text = strings[index % len(strings)]
        deployment["pr_title"] = text
        deployment["head_branch"] = text
        deployment["actor"] = text
        deployment["pr_approvers"] = [text, "alice-ng"]
        deployment["html_url"] = "javascript:alert(1)" if index == 0 else deployment["html_url"]
        control_id = "change.reviewed"
        deployment["controls"][control_id] = {"verdict": "fail", "detail": f"Run {deployment['run_id']}: {text}"}
        deployment["responses"][control_id] = {
            "response": text,
            "author": text,
            "recorded_at": deployment["created_at"],
            "reference": text,
        }
    findings["repositories"] = [*findings["repositories"], strings[1]]
    findings["completeness"]["mismatches"] = [{"repository": strings[2], "run_id": 1, "reason": strings[3]}]
    recount(findings)
    return findings


def recount(findings: dict) -> None:
    """Recompute each control's counts from the deployments (after a test edited verdicts)."""
    for control in findings["controls"]:
        counts = dict.fromkeys(control["counts"], 0)
        for deployment in findings["deployments"]:
            counts[deployment["controls"][control["id"]]["verdict"]] += 1
        control["counts"] = counts
