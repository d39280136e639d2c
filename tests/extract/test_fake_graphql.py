"""The fake GitHub's GraphQL endpoint and repository artifact listing answer as GitHub does."""

from __future__ import annotations

import requests

from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.demo.fakegithub.graphql import decode_node_id
from tests.demo.test_schemas import registry, validate  # noqa: F401 - pytest fixture

RUNS = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on WorkflowRun { id runNumber } } }"


def _post(server: FakeGitHub, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{server.base_url}/graphql", json={"query": query, "variables": variables}, timeout=10)
    assert response.status_code == 200
    return response.json()


def test_nodes_resolve_the_node_ids_rest_serves_and_flag_unknown_ones() -> None:
    with FakeGitHub(synthetic_world(deployments=3)) as server:
        runs = requests.get(f"{server.base_url}/repos/synthetic/service-000/actions/runs", timeout=10).json()
        node_ids = [run["node_id"] for run in runs["workflow_runs"]]
        answer = _post(server, RUNS, {"ids": [*node_ids, "bm9wZQ=="]})
        assert server.request_count("/graphql") == 1
    assert [node["id"] for node in answer["data"]["nodes"][:3]] == node_ids
    assert answer["data"]["nodes"][3] is None
    assert answer["errors"][0]["type"] == "NOT_FOUND"
    assert answer["errors"][0]["path"] == ["nodes", 3]
    assert decode_node_id(node_ids[0])[0] == "WorkflowRun"


def test_connections_need_first_or_last_up_to_100() -> None:
    with FakeGitHub(synthetic_world(deployments=1)) as server:
        runs = requests.get(f"{server.base_url}/repos/synthetic/service-000/actions/runs", timeout=10).json()
        ids = [runs["workflow_runs"][0]["node_id"]]
        unpaged = _post(
            server,
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on WorkflowRun { deploymentReviews { totalCount } } } }",
            {"ids": ids},
        )
        too_many = _post(
            server,
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on WorkflowRun { "
            "deploymentReviews(first: 101) { totalCount } } } }",
            {"ids": ids},
        )
    assert "first" in unpaged["errors"][0]["message"]
    assert "limit of 100" in too_many["errors"][0]["message"]


def test_graphql_can_be_switched_off() -> None:
    with FakeGitHub(synthetic_world(deployments=1), graphql=False) as server:
        response = requests.post(f"{server.base_url}/graphql", json={"query": RUNS}, timeout=10)
    assert response.status_code == 404


def test_repository_artifact_listing_validates_and_is_newest_first(registry) -> None:  # noqa: F811
    with FakeGitHub(synthetic_world(deployments=40)) as server:
        body = requests.get(
            f"{server.base_url}/repos/synthetic/service-000/actions/artifacts", params={"per_page": 100}, timeout=10
        ).json()
    validate(registry, "responses", "list-workflow-run-artifacts", body)
    created = [artifact["created_at"] for artifact in body["artifacts"]]
    assert created == sorted(created, reverse=True)
    assert body["total_count"] == len(body["artifacts"]) >= 40
