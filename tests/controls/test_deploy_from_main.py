import pytest

from .factories import case, judge, make_deployment

CASES = [
    case("default branch main", "pass", "'main'", "default branch"),
    case("default branch that is not main", "pass", "'trunk'", head_branch="trunk", default_branch="trunk"),
    case(
        "allowed release branch pattern",
        "pass",
        "release/*",
        settings={"allowed_branches": ["main", "release/*"]},
        head_branch="release/2024.2",
    ),
    case(
        "allowed branches need no default branch",
        "pass",
        "'main'",
        settings={"allowed_branches": ["main"]},
        default_branch=None,
    ),
    case("bot-triggered run from main", "pass", "'main'", actor="dependabot[bot]"),
    case("feature branch", "fail", "'feature/x'", "not the default branch 'main'", head_branch="feature/x"),
    case("main when the default branch is trunk", "fail", "not the default branch 'trunk'", default_branch="trunk"),
    case("branch names are case-sensitive", "fail", "'Main'", head_branch="Main"),
    case(
        "default branch not allowed when branches are configured",
        "fail",
        "is not one of the allowed branches release/*",
        settings={"allowed_branches": ["release/*"]},
    ),
    case(
        "dependabot branch",
        "fail",
        "'dependabot/pip/requests-2.32.0'",
        actor="dependabot[bot]",
        head_branch="dependabot/pip/requests-2.32.0",
    ),
    case("default branch unknown", "not_available", "default branch of acme/api is unknown", default_branch=None),
    case("head branch unknown", "not_available", "head branch", head_branch=None),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_deploy_from_main(deployment, settings, expected, phrases):
    verdict = judge("deploy.from_main", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_cites_the_run_and_the_repository():
    verdict = judge("deploy.from_main", make_deployment())
    assert verdict.evidence == ("runs:123", "repositories:acme/api")
