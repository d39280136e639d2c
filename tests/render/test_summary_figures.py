"""The executive summary's headline counts exceptions as the Exceptions section does: an
unavailable or errored verdict is an exception the auditor must follow up, not only a fail."""

from __future__ import annotations

from audit.render import view

from .factories import make_findings, recount


def test_headline_counts_not_available_and_error_verdicts_as_exceptions():
    findings = make_findings(6)
    deployments = findings["deployments"]
    for deployment in deployments:
        for result in deployment["controls"].values():
            result["verdict"] = "pass"
    deployments[1]["controls"]["deploy.approved"]["verdict"] = "not_available"
    deployments[4]["controls"]["tests.passed"]["verdict"] = "error"
    recount(findings)

    summary = view.summary_figures(findings)

    assert summary["with_exception"] == 2
    assert summary["controls_with_exceptions"] == 2
    per_repository = view.population_by_repository(findings)
    assert summary["with_exception"] == sum(row["exceptions"] for row in per_repository)
