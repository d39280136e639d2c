"""The fake GitHub's REST objects have the shape of real recorded GitHub answers (issue 12 §1).

`tests/fixtures/github-recorded/` holds objects GitHub really sent (see its SOURCE.md). Every
key a real object has, the fake's object of the same kind has too, with the same JSON type
wherever both are non-null, nested objects included. The fake may have more keys: GitHub
added fields (artifact `digest`, `prevent_self_review` …) since those answers were recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from audit.demo.fakegithub import FakeGitHub
from tests.reliability.helpers import REPOSITORY, run_order, small_world

RECORDED = Path(__file__).parents[1] / "fixtures" / "github-recorded"
FREE_FORM = {"payload"}
"""Objects whose keys are the deployer's own (a deployment's `payload`): only their type is compared."""


@pytest.fixture(scope="module")
def fake_objects() -> dict[str, dict]:
    world = small_world(deployments=6)
    run = run_order(world)[0]
    # Every kind of protection rule the recorded environment has.
    world.repositories[REPOSITORY].add_environment(
        "staging",
        reviewers=["rev-a"],
        wait_timer=15,
        deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True},
    )
    with FakeGitHub(world) as server:
        api = f"{server.base_url}/repos/{REPOSITORY}"

        def get(path: str):
            return requests.get(api + path, timeout=10).json()

        deployment = get("/deployments")[0]
        pull = get(f"/commits/{run.head_sha}/pulls")[0]
        return {
            "workflow-run": get(f"/actions/runs/{run.id}"),
            "job": get(f"/actions/runs/{run.id}/jobs")["jobs"][0],
            "deployment": deployment,
            "deployment-status": get(f"/deployments/{deployment['id']}/statuses")[0],
            "artifact": get(f"/actions/runs/{run.id}/artifacts")["artifacts"][0],
            "review": get(f"/pulls/{pull['number']}/reviews")[0],
            "commit-pull": pull,
            "environment": next(e for e in get("/environments")["environments"] if e["name"] == "staging"),
        }


def _json_type(value) -> str:
    return type(value).__name__


def _differences(real: dict, fake: dict, where: str = "") -> list[str]:
    found = []
    for key, value in real.items():
        if key not in fake:
            found.append(f"{where}{key} missing")
            continue
        other = fake[key]
        if value is not None and other is not None and _json_type(value) != _json_type(other):
            found.append(f"{where}{key}: {_json_type(other)}, GitHub sent {_json_type(value)}")
        elif isinstance(value, dict) and isinstance(other, dict) and key not in FREE_FORM:
            found += _differences(value, other, f"{where}{key}.")
        elif isinstance(value, list) and isinstance(other, list):
            for item in value:
                match = _same_kind(item, other)
                if match is not None:
                    found += _differences(item, match, f"{where}{key}[].")
    return found


def _same_kind(item, candidates: list):
    """The fake's list item to compare a real one with: same `type` (protection rules), else the first."""
    if not isinstance(item, dict):
        return None
    dicts = [c for c in candidates if isinstance(c, dict)]
    if "type" in item:
        return next((c for c in dicts if c.get("type") == item["type"]), {"type": item["type"]})
    return dicts[0] if dicts else None


@pytest.mark.parametrize("kind", sorted(path.stem for path in RECORDED.glob("*.json")))
def test_fake_objects_have_every_key_and_type_github_sent(fake_objects, kind) -> None:
    real = json.loads((RECORDED / f"{kind}.json").read_text())
    assert _differences(real, fake_objects[kind]) == []


def test_the_comparison_catches_a_missing_key_and_a_wrong_type() -> None:
    real = {"id": 1, "user": {"login": "a"}, "state": "APPROVED"}
    assert _differences(real, {"id": "1", "user": {}, "state": "APPROVED"}) == [
        "id: str, GitHub sent int",
        "user.login missing",
    ]
