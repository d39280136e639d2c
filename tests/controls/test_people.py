"""The shared rules: who approved, who is excluded, what the run did."""

import pytest

from audit.controls.people import (
    PrApproval,
    deploy_approvers,
    excluded_people,
    latest_matching_jobs,
    might_be_scan_evidence,
    outcome,
    pr_approvals,
    pr_approvers,
)

from .factories import EARLIER_SHA, make_approval, make_deployment, make_job, make_pull_request, make_review


@pytest.mark.parametrize(
    ("reviews", "expected"),
    [
        pytest.param([make_review("bob", review_id=1)], [PrApproval("bob", 1, True)], id="approved"),
        pytest.param(
            [make_review("bob", review_id=1, commit_id=EARLIER_SHA)],
            [PrApproval("bob", 1, False)],
            id="approved on an earlier commit",
        ),
        pytest.param(
            [make_review("bob", review_id=1, commit_id=None)],
            [PrApproval("bob", 1, None)],
            id="commit unknown",
        ),
        pytest.param(
            [make_review("bob", review_id=1), make_review("bob", "CHANGES_REQUESTED", review_id=2)],
            [],
            id="changes requested after approval",
        ),
        pytest.param(
            [make_review("bob", "CHANGES_REQUESTED", review_id=1), make_review("Bob", review_id=2)],
            [PrApproval("Bob", 2, True)],
            id="approved after changes requested, login in another case",
        ),
        pytest.param(
            [
                make_review("bob", review_id=1),
                make_review("bob", "COMMENTED", review_id=2),
                make_review("bob", "PENDING", review_id=3),
            ],
            [PrApproval("bob", 1, True)],
            id="comments leave the approval standing",
        ),
        pytest.param([make_review("bob", "DISMISSED", review_id=1)], [], id="dismissed"),
        pytest.param([make_review("alice", review_id=1)], [], id="author's own approval"),
        pytest.param([make_review("ALICE", review_id=1)], [], id="author's own, another case"),
        pytest.param([make_review(None, review_id=1)], [], id="deleted account"),
        pytest.param(
            [make_review("carol", review_id=1), make_review("bob", review_id=2), make_review("carol", review_id=3)],
            [PrApproval("carol", 3, True), PrApproval("bob", 2, True)],
            id="several reviewers keep first-review order",
        ),
    ],
)
def test_pr_approvals(reviews, expected):
    assert list(pr_approvals(make_pull_request(reviews=reviews))) == expected


def test_pr_approvers_of_a_deployment():
    assert pr_approvers(make_deployment(pr_approved_by=["bob", "dave"])) == ("bob", "dave")
    assert pr_approvers(make_deployment(pull_request=None)) == ()


def test_deploy_approvers_are_distinct_and_for_this_environment():
    deployment = make_deployment(
        approvals=[
            make_approval("carol"),
            make_approval("CAROL", environments=["Production", "staging"]),
            make_approval("dave", environments=["staging"]),
            make_approval("erin", "rejected"),
        ]
    )
    assert deploy_approvers(deployment) == ("carol",)


def test_excluded_people_fold_case_and_skip_unknown():
    deployment = make_deployment(actor="Alice", triggering_actor="Erin", pr_author=None)
    assert excluded_people(deployment) == frozenset({"alice", "erin"})


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        pytest.param(make_deployment(), "success", id="success"),
        pytest.param(make_deployment(deploy_conclusion="failure"), "failure", id="failed"),
        pytest.param(make_deployment(deploy_conclusion="cancelled"), "cancelled", id="cancelled"),
        pytest.param(
            make_deployment(
                approved_by=[],
                rejected_by=["dave"],
                approved_after=None,
                deploy_started=None,
                deploy_conclusion="failure",
            ),
            "rejected",
            id="rejected, job never started",
        ),
        pytest.param(make_deployment(rejected_by=["dave"], deploy_job=None), "rejected", id="rejected, no job"),
        pytest.param(
            make_deployment(rejected_by=["dave"], run_attempt=2),
            "success",
            id="rejected once, deployed on a re-run",
        ),
        pytest.param(make_deployment(deploy_job=None), None, id="no deploy job captured"),
        pytest.param(make_deployment(deploy_conclusion=None), None, id="still running"),
    ],
)
def test_outcome(deployment, expected):
    assert outcome(deployment) == expected


def test_latest_matching_jobs_keep_the_newest_execution_of_each_name():
    deployment = make_deployment(
        jobs=[
            make_job("test", "failure", job_id=1, run_attempt=1),
            make_job("TEST", job_id=2, run_attempt=2),
            make_job("test (3.12)", job_id=3),
            make_job("lint", job_id=4),
        ]
    )
    assert [job.job_id for job in latest_matching_jobs(deployment, ["test", "test (*)"])] == [2, 3]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bandit-report", True),
        ("results", True),
        ("sarif", True),
        ("build-security-scan", True),
        ("coverage-report", False),
        ("htmlcov", False),
        ("dist", False),
        ("junit-results", False),
    ],
)
def test_might_be_scan_evidence(name, expected):
    assert might_be_scan_evidence(name) is expected
