"""The GraphQL client on GitHub's partial answers: every null is "ask REST", never "none",
and nothing crashes (issue 12 §1). Each case is one answer body GitHub can send."""

from __future__ import annotations

import pytest

from audit.demo.fakegithub import FakeGitHub
from audit.extract import GitHubClient, graphql
from tests.reliability.helpers import small_world

SHA = "a" * 40
FORBIDDEN = {"type": "FORBIDDEN", "message": "Resource not accessible by integration"}
DONE = {"hasNextPage": False}


@pytest.fixture(scope="module")
def server():
    with FakeGitHub(small_world(deployments=6)) as running:
        yield running


def _answer(server: FakeGitHub, body: dict):
    """A client whose next GraphQL request gets `body` (HTTP 200)."""
    server.clear_faults()
    server.add_fault(r"^/graphql$", 200, body=body)
    return GitHubClient(server.base_url, None)


def _run(check_runs=None, reviews=None) -> dict:
    return {
        "checkSuite": {"checkRuns": check_runs},
        "deploymentReviews": reviews if reviews is not None else {"pageInfo": DONE, "nodes": []},
    }


def _pull(**fields) -> dict:
    return {
        "number": 7,
        "title": "t",
        "author": {"__typename": "User", "login": "dev01"},
        "state": "MERGED",
        "mergedAt": "2024-05-01T00:00:00Z",
        "mergeCommit": {"oid": SHA},
        "headRefOid": "b" * 40,
        "baseRefName": "main",
        "url": "https://github.com/o/r/pull/7",
        "reviews": {"pageInfo": DONE, "nodes": []},
        **fields,
    }


def _commit_answer(*pulls: dict) -> dict:
    return {"data": {"repository": {"c0": {"associatedPullRequests": {"pageInfo": DONE, "nodes": list(pulls)}}}}}


def test_data_null_leaves_every_piece_to_rest_with_the_reason(server) -> None:
    client = _answer(server, {"data": None, "errors": [{**FORBIDDEN, "path": ["nodes"]}]})
    answers = graphql.run_evidence(client, ["id-1", "id-2"], [1, 1])
    assert [(a.jobs, a.approvals) for a in answers] == [(None, None), (None, None)]
    assert answers[0].refused == "FORBIDDEN at nodes: Resource not accessible by integration"


def test_a_null_run_and_a_forbidden_check_suite_are_not_empty_job_lists(server) -> None:
    body = {
        "data": {"nodes": [None, _run(check_runs=None)]},
        "errors": [
            {"type": "NOT_FOUND", "path": ["nodes", 0], "message": "Could not resolve to a node"},
            {**FORBIDDEN, "path": ["nodes", 1, "checkSuite", "checkRuns"]},
        ],
    }
    first, second = graphql.run_evidence(_answer(server, body), ["id-1", "id-2"], [1, 1])
    assert (first.jobs, first.approvals) == (None, None)
    assert first.refused.startswith("NOT_FOUND at nodes.0")
    assert second.jobs is None and second.approvals == []
    assert second.refused == "FORBIDDEN at nodes.1.checkSuite.checkRuns: Resource not accessible by integration"


def test_a_null_entry_inside_nodes_makes_the_list_unknown(server) -> None:
    body = {"data": {"nodes": [_run(check_runs={"pageInfo": DONE, "nodes": [None]})]}}
    (answer,) = graphql.run_evidence(_answer(server, body), ["id-1"], [1])
    assert answer.jobs is None


def test_forbidden_pull_requests_are_not_a_commit_without_pull_requests(server) -> None:
    body = {
        "data": {"repository": {"c0": {"associatedPullRequests": None}}},
        "errors": [{**FORBIDDEN, "path": ["repository", "c0", "associatedPullRequests"]}],
    }
    answer = graphql.commit_pulls(_answer(server, body), "o/r", [SHA])[SHA]
    assert answer.pulls is None
    assert answer.refused.startswith("FORBIDDEN at repository.c0.associatedPullRequests")


def test_a_review_without_its_id_sends_the_reviews_to_rest(server) -> None:
    reviews = {"pageInfo": DONE, "nodes": [{"fullDatabaseId": None, "state": "APPROVED", "author": None}]}
    body = _commit_answer(_pull(reviews=reviews))
    answer = graphql.commit_pulls(_answer(server, body), "o/r", [SHA])[SHA]
    assert [pull["number"] for pull in answer.pulls] == [7]
    assert answer.reviews == {7: None}


def test_a_bot_gets_the_login_rest_gives_it(server) -> None:
    bot = {"__typename": "Bot", "login": "dependabot"}
    review = {
        "fullDatabaseId": "123",
        "state": "APPROVED",
        "author": bot,
        "submittedAt": None,
        "commit": None,
        "authorAssociation": "NONE",
    }
    pull = _pull(author=bot, reviews={"pageInfo": DONE, "nodes": [review]})
    body = _commit_answer(pull)
    answer = graphql.commit_pulls(_answer(server, body), "o/r", [SHA])[SHA]
    assert answer.pulls[0]["user"] == {"login": "dependabot[bot]"}
    assert answer.reviews[7][0]["user"] == {"login": "dependabot[bot]"}
