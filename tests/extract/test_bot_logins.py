"""Logins are one name per person whichever API fetched them (issue 12 §1).

GraphQL names a bot `github-actions`, REST `github-actions[bot]`. The controls that compare
people (dual control, independence, self-review in change.reviewed) must give the same
verdicts whether the people came through GraphQL (batched) or REST (per run).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.evaluate import evaluate_quarter
from tests.reliability.helpers import REPOSITORY, run_order, small_world

from .conftest import QUARTER, extract, new_store

PEOPLE_CONTROLS = ("change.reviewed", "deploy.dual_control", "deploy.independent")


@pytest.fixture(scope="module")
def world():
    world = small_world(deployments=6)
    repository = world.repositories[REPOSITORY]
    runs = run_order(world)
    # A bot triggers the run and approves its pull request: it must not count as an approver.
    bot_run = runs[0]
    bot_run.actor = bot_run.triggering_actor = "github-actions[bot]"
    (pull,) = repository.pulls_for_commit(bot_run.head_sha)
    pull.add_review("github-actions[bot]", submitted_at=pull.merged_at - timedelta(minutes=5))
    # A bot's pull request approved by the bot only: a self-review, no independent approval.
    self_run = runs[2]
    (own,) = repository.pulls_for_commit(self_run.head_sha)
    own.user = "dependabot[bot]"
    own.reviews.clear()
    own.add_review("dependabot[bot]", submitted_at=own.merged_at - timedelta(minutes=5))
    return world


@pytest.fixture(scope="module")
def stores(world):
    result = {}
    with FakeGitHub(world) as server:
        for name, batched in (("graphql", True), ("rest", False)):
            db = new_store()
            extract(server, db, [REPOSITORY], batched=batched)
            evaluate_quarter(db, QUARTER, Settings(), demo=False, evaluated_at="fixed")
            result[name] = db
    return result


def _verdicts(db, run_id: int) -> dict[str, tuple[str, str]]:
    return {
        row["control_id"]: (row["verdict"], row["detail"])
        for row in db.query("select * from verdicts where run_id = ?", [run_id])
        if row["control_id"] in PEOPLE_CONTROLS
    }


def test_graphql_and_rest_store_the_same_logins(stores) -> None:
    def people(db):
        return sorted(db.execute("select user from reviews union all select author from pull_requests").fetchall())

    assert people(stores["graphql"]) == people(stores["rest"])
    assert ("github-actions[bot]",) in people(stores["graphql"])


@pytest.mark.parametrize("index", [0, 2])
def test_people_controls_agree_across_apis(world, stores, index) -> None:
    run_id = run_order(world)[index].id
    assert _verdicts(stores["graphql"], run_id) == _verdicts(stores["rest"], run_id)


def test_the_bot_that_ran_the_deployment_is_left_out_of_dual_control(world, stores) -> None:
    verdict, detail = _verdicts(stores["graphql"], run_order(world)[0].id)["deploy.dual_control"]
    assert "github-actions[bot]" in detail.split("leaving out", 1)[1]
    assert "github-actions," not in detail and "github-actions " not in detail


def test_a_bot_approving_its_own_pull_request_is_no_review(world, stores) -> None:
    verdict, detail = _verdicts(stores["graphql"], run_order(world)[2].id)["change.reviewed"]
    assert verdict == "fail", detail
    assert "dependabot[bot]" in detail
