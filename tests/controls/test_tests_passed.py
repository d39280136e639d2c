import pytest

from .factories import case, judge, make_deployment, make_job

CASES = [
    case("test job succeeded before deploying", "pass", "1 test job", "before the deploy job started"),
    case(
        "matrix test jobs, names in another case",
        "pass",
        "2 test jobs",
        jobs=[make_job("Test (3.11)"), make_job("TEST (3.12)"), make_job("lint", "failure")],
    ),
    case(
        "configured patterns",
        "pass",
        "2 test jobs",
        settings={"test_jobs": ["unit-*", "integration"]},
        jobs=[make_job("unit-api"), make_job("Integration"), make_job("test", "failure")],
    ),
    case(
        "a re-run's latest execution succeeded",
        "pass",
        "1 test job",
        jobs=[make_job("test", "failure", run_attempt=1), make_job("test", run_attempt=2)],
        run_attempt=2,
        triggering_actor="erin",
    ),
    case(
        "deploy job never started (rejected)",
        "pass",
        "never started",
        approved_by=[],
        rejected_by=["dave"],
        approved_after=None,
        deploy_started=None,
    ),
    case("deployment that failed", "pass", "before the deploy job", deploy_conclusion="failure"),
    case("bot-triggered run", "pass", "1 test job", actor="dependabot[bot]"),
    case("no test job", "fail", "No job", "test and test (*)", jobs=[make_job("lint")]),
    case("test job failed", "fail", "'test' (failure)", jobs=[make_job("test", "failure")]),
    case("test job skipped", "fail", "'test' (skipped)", jobs=[make_job("test", "skipped")]),
    case(
        "one matrix leg cancelled",
        "fail",
        "'test (3.12)' (cancelled)",
        jobs=[make_job("test (3.11)"), make_job("test (3.12)", "cancelled")],
    ),
    case(
        "a re-run's latest execution failed",
        "fail",
        "(failure)",
        jobs=[make_job("test", run_attempt=1), make_job("test", "failure", run_attempt=2)],
    ),
    case(
        "test finished after the deploy job started",
        "fail",
        "completed after the deploy job started",
        jobs=[make_job("test", started=20, completed=40)],
    ),
    case("jobs never captured", "not_available", "never captured", jobs_captured=False),
    case(
        "test job still running",
        "not_available",
        "conclusion of test job 'test' of",
        jobs=[make_job("test", None, completed=None)],
    ),
    case(
        "completion time unknown",
        "not_available",
        "completion time of 'test'",
        jobs=[make_job("test", completed=None)],
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_tests_passed(deployment, settings, expected, phrases):
    verdict = judge("tests.passed", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_cites_the_test_jobs_and_the_deploy_job():
    verdict = judge("tests.passed", make_deployment(jobs=[make_job("test", job_id=7)]))
    assert verdict.evidence == ("jobs:7", "jobs:800")


def test_the_deploy_job_is_never_its_own_test():
    deployment = make_deployment(jobs=[], deploy_job=make_job("test", job_id=800))
    assert judge("tests.passed", deployment).verdict == "fail"
