"""Every field GitHub's schema declares nullable, in every query we send, may come back null
without crashing the extraction or turning into "none" (issue 12 §1).

For each nullable field (and nullable list entry) of the batched queries, taken from
GitHub's published schema, the fake's real answer is re-served with that field null
everywhere; each piece (jobs, approvals, pull requests, reviews, statuses) must then be either what
it was or None ("ask REST"), never a shorter list.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import requests
from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    InlineFragmentNode,
    build_schema,
    get_named_type,
    parse,
)

from audit.demo.fakegithub import FakeGitHub
from audit.extract import GitHubClient, graphql
from tests.reliability.helpers import REPOSITORY, run_order, small_world

GITHUB_SCHEMA = Path(__file__).parents[1] / "fixtures" / "github-api" / "graphql" / "schema.graphql"
EVERY = "*"


def nullable_paths(schema, text: str) -> list[tuple[str, ...]]:
    """Response paths (aliases, `*` for list entries) of every nullable field the query selects."""
    operation = parse(text).definitions[0]
    found: list[tuple[str, ...]] = []

    def walk(selection_set, parent, path):
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, schema.type_map[selection.type_condition.name.value], path)
                continue
            assert isinstance(selection, FieldNode)
            name = selection.name.value
            if name == "__typename":
                continue
            field_type = parent.fields[name].type
            key = path + ((selection.alias or selection.name).value,)
            if not isinstance(field_type, GraphQLNonNull):
                found.append(key)
            inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
            if isinstance(inner, GraphQLList):
                key += (EVERY,)
                if not isinstance(inner.of_type, GraphQLNonNull):
                    found.append(key)
            if selection.selection_set:
                walk(selection.selection_set, get_named_type(field_type), key)

    walk(operation.selection_set, schema.query_type, ())
    return found


def with_null(data, path: tuple[str, ...]):
    """A copy of `data` with every value at `path` set to null."""
    data = copy.deepcopy(data)

    def set_null(value, rest):
        if value is None:
            return
        step, rest = rest[0], rest[1:]
        keys = range(len(value)) if step == EVERY else [step] if step in value else []
        for key in keys:
            if rest:
                set_null(value[key], rest)
            else:
                value[key] = None

    set_null(data, path)
    return data


@pytest.fixture(scope="module")
def schema():
    return build_schema(GITHUB_SCHEMA.read_text(), assume_valid_sdl=True)


@pytest.fixture(scope="module")
def answers():
    """The fake's real answers to both queries for six runs and their commits."""
    world = small_world(deployments=6)
    with FakeGitHub(world) as server:
        api = f"{server.base_url}/repos/{REPOSITORY}"
        runs = [requests.get(f"{api}/actions/runs/{run.id}", timeout=10).json() for run in run_order(world)]
        client = GitHubClient(server.base_url, None)
        ids = [run["node_id"] for run in runs]
        shas = [run["head_sha"] for run in runs]
        runs_data, _ = graphql.query(client, graphql.RUNS_QUERY, {"ids": ids})
        commits_text = graphql.commits_query(shas)
        commits_data, _ = graphql.query(client, commits_text, {"owner": "synthetic", "name": "service-000"})
        client.close()
    return {"ids": ids, "shas": shas, "runs": runs_data, "commits": commits_data, "commits_text": commits_text}


def _serve(monkeypatch, data) -> None:
    monkeypatch.setattr(graphql, "query", lambda client, text, variables: (data, graphql.Refusals(())))


def _same_or_unknown(original, mutated) -> bool:
    return mutated is None or len(mutated) == len(original)


def test_every_nullable_field_of_the_runs_query(schema, answers, monkeypatch) -> None:
    paths = nullable_paths(schema, graphql.RUNS_QUERY)
    assert ("nodes", EVERY, "checkSuite", "checkRuns") in paths
    _serve(monkeypatch, answers["runs"])
    clean = graphql.run_evidence(None, answers["ids"], [1] * len(answers["ids"]))
    assert all(run.jobs and run.approvals for run in clean)
    for path in paths:
        _serve(monkeypatch, with_null(answers["runs"], path))
        nulled = graphql.run_evidence(None, answers["ids"], [1] * len(answers["ids"]))
        for before, after in zip(clean, nulled, strict=True):
            assert _same_or_unknown(before.jobs, after.jobs), path
            assert _same_or_unknown(before.approvals, after.approvals), path


def test_every_nullable_field_of_the_commits_query(schema, answers, monkeypatch) -> None:
    paths = nullable_paths(schema, answers["commits_text"])
    assert ("repository", "c0", "associatedPullRequests", "nodes", EVERY, "reviews") in paths
    _serve(monkeypatch, answers["commits"])
    clean = graphql.commit_pulls(None, REPOSITORY, answers["shas"])
    assert all(found.pulls and all(found.reviews.values()) for found in clean.values())
    for path in paths:
        _serve(monkeypatch, with_null(answers["commits"], path))
        nulled = graphql.commit_pulls(None, REPOSITORY, answers["shas"])
        for sha, before in clean.items():
            after = nulled[sha]
            assert _same_or_unknown(before.pulls, after.pulls), path
            if after.pulls is not None:
                for number, reviews in before.reviews.items():
                    assert _same_or_unknown(reviews, after.reviews[number]), path


@pytest.fixture(scope="module")
def statuses_answer():
    """The fake's real answer to the statuses query for six deployments."""
    world = small_world(deployments=6)
    with FakeGitHub(world) as server:
        api = f"{server.base_url}/repos/{REPOSITORY}/deployments"
        ids = [
            requests.get(f"{api}/{d.id}", timeout=10).json()["node_id"]
            for d in world.repositories[REPOSITORY].deployments
        ]
        client = GitHubClient(server.base_url, None)
        data, _ = graphql.query(client, graphql.STATUSES_QUERY, {"ids": ids})
        client.close()
    return ids, data


def test_every_nullable_field_of_the_statuses_query(schema, statuses_answer, monkeypatch) -> None:
    ids, data = statuses_answer
    paths = nullable_paths(schema, graphql.STATUSES_QUERY)
    assert ("nodes", EVERY, "statuses", "nodes", EVERY) in paths
    _serve(monkeypatch, data)
    clean = graphql.deployment_statuses(None, ids)
    assert all(found.statuses for found in clean)
    for path in paths:
        _serve(monkeypatch, with_null(data, path))
        nulled = graphql.deployment_statuses(None, ids)
        for before, after in zip(clean, nulled, strict=True):
            assert _same_or_unknown(before.statuses, after.statuses), path
