"""Every endpoint's body validates against GitHub's own response schema.

The schemas are OpenAPI 3.0 (`nullable: true`), mapped to JSON Schema nullability first.
One deliberate widening, GitHub behaviour the schema omits: deployment-status `state`
also takes `waiting` (the API emits it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from audit.demo.fakegithub import FakeGitHub
from audit.demo.organisation import demo_exceptions

from .conftest import make_world

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github-api"
BASE = "https://fixtures.invalid/"


def _nullable(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _nullable(value) for key, value in schema.items()}
    if schema.pop("nullable", False):
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema["type"] = [*types, "null"]
        elif "enum" not in schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _load(folder: str, name: str) -> dict:
    schema = _nullable(json.loads((FIXTURES / folder / name).read_text()))
    if (folder, name) == ("schemas", "deployment-status.json"):
        schema["properties"]["state"]["enum"].append("waiting")
    return schema


@pytest.fixture(scope="module")
def registry() -> Registry:
    resources = [
        (
            f"{BASE}{folder}/{path.name}",
            Resource.from_contents(_load(folder, path.name), default_specification=DRAFT202012),
        )
        for folder in ("schemas", "responses")
        for path in sorted((FIXTURES / folder).glob("*.json"))
    ]
    return Registry().with_resources(resources)


def validate(registry: Registry, folder: str, name: str, body: Any) -> None:
    schema = {"$ref": f"{BASE}{folder}/{name}.json"}
    validator = Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def get(server: FakeGitHub, path: str, **params: Any) -> Any:
    response = requests.get(server.base_url + path, params=params, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return response.json()


def test_every_demo_endpoint_validates(demo_server: FakeGitHub, registry: Registry) -> None:
    world = demo_server.world
    exceptions = demo_exceptions(world)
    sample = {run_id for runs in exceptions.values() for _, run_id in runs[-2:]}
    checked: set[str] = set()

    def check(operation: str, path: str, **params: Any) -> Any:
        body = get(demo_server, path, **params)
        validate(registry, "responses", operation, body)
        checked.add(operation)
        return body

    validate(registry, "schemas", "repository", get(demo_server, "/repos/acme-fintech/ledger"))
    for repo_json in get(demo_server, "/orgs/acme-fintech/repos"):
        validate(registry, "schemas", "repository", repo_json)
    check("get-rate-limit", "/rate_limit")
    for repo in world.repositories.values():
        api = f"/repos/{repo.full_name}"
        check("list-workflow-runs-for-repo", f"{api}/actions/runs", per_page=40, created="2024-04-01..2024-06-30")
        check("list-workflow-runs", f"{api}/actions/workflows/deploy.yml/runs", per_page=10)
        check("get-all-environments", f"{api}/environments")
        for name in repo.environments:
            check("get-environment", f"{api}/environments/{quote(name, safe='')}")
        deployments = check("list-deployments", f"{api}/deployments", per_page=100)
        for deployment in deployments[:40]:
            check("list-deployment-statuses", f"{api}/deployments/{deployment['id']}/statuses")
        runs = [run for run in repo.runs.values() if run.id in sample]
        for run in runs:
            run_api = f"{api}/actions/runs/{run.id}"
            check("list-jobs-for-workflow-run", f"{run_api}/jobs", filter="all")
            check("get-reviews-for-run", f"{run_api}/approvals")
            check("get-pending-deployments-for-run", f"{run_api}/pending_deployments")
            check("list-workflow-run-artifacts", f"{run_api}/artifacts")
            check("list-check-runs-for-suite", f"{api}/check-suites/{run.check_suite_id}/check-runs")
            for pull in check("list-pull-requests-associated-with-commit", f"{api}/commits/{run.head_sha}/pulls"):
                check("list-reviews", f"{api}/pulls/{pull['number']}/reviews")
        if repo.code_scanning.enabled:
            check("list-recent-analyses", f"{api}/code-scanning/analyses", per_page=5)
    operations = {path.stem for path in (FIXTURES / "responses").glob("*.json")}
    assert checked == operations


def test_pending_deployments_of_a_waiting_run_validate(registry: Registry) -> None:
    world = make_world(waiting=True)
    run = next(run for run in world.runs.values() if run.status == "waiting")
    with FakeGitHub(world) as server:
        body = get(server, f"/repos/acme/app/actions/runs/{run.id}/pending_deployments")
        jobs = get(server, f"/repos/acme/app/actions/runs/{run.id}/jobs")
    assert [entry["environment"]["name"] for entry in body] == ["production"]
    assert body[0]["reviewers"][0]["reviewer"]["login"] == "dana"
    validate(registry, "responses", "get-pending-deployments-for-run", body)
    validate(registry, "responses", "list-jobs-for-workflow-run", jobs)


def test_the_validation_does_reject_a_wrong_body(registry: Registry) -> None:
    with pytest.raises(AssertionError, match="required"):
        validate(registry, "responses", "list-workflow-runs-for-repo", {"total_count": 1})
    with pytest.raises(AssertionError):
        validate(registry, "responses", "list-deployment-statuses", [{"state": "bogus"}])
