"""One pattern matcher: fnmatch, case-insensitive, the same in Python and in the store's SQL."""

import pytest

from audit.config import Settings
from audit.evaluate import population_keys
from audit.patterns import MATCH, matches_any
from audit.quarter import Quarter
from audit.reperform import query_text, run_sql
from audit.store import open_store


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("test", ["test", "test (*)"], True),
        ("Test (3.12)", ["test", "test (*)"], True),
        ("tests", ["test", "test (*)"], False),
        ("unit-api", ["UNIT-*"], True),
        ("lint", [], False),
        ("production", ["production"], True),
        ("Production", ["production"], True),
        ("production-eu", ["production-*"], True),
        ("staging", ["production", "prod-*"], False),
        ("prod-eu", ["prod[!x]*"], True),
        ("prodx", ["prod[!x]*"], False),
        ("prod!", ["prod[!x]*"], True),
    ],
)
def test_matches_any(name, patterns, expected):
    assert matches_any(name, patterns) is expected


ENVIRONMENTS = ("prod-eu", "prodx", "PROD-us", "staging")


@pytest.fixture
def store(tmp_path):
    """One run per environment, each with a deployment, created inside 2024Q2."""
    db = open_store(tmp_path / "evidence.db")
    for run_id, environment in enumerate(ENVIRONMENTS, start=1):
        db["workflow_runs"].insert(
            {"repository": "acme/api", "run_id": run_id, "created_at": "2024-05-01T10:00:00Z", "head_sha": "a" * 40}
        )
        db["deployments"].insert(
            {"deployment_id": 100 + run_id, "repository": "acme/api", "environment": environment, "run_id": run_id}
        )
    return db


def test_the_population_uses_the_same_matcher_as_extraction(store):
    """`prod[!x]*` means "not x" everywhere; SQLite's GLOB would read it as "! or x" and drop them."""
    settings = Settings(production_environments=("prod[!x]*",))
    population = {key["environment"] for key in population_keys(store, Quarter(2024, 2), settings)}
    expected = {name for name in ENVIRONMENTS if matches_any(name, settings.production_environments)}
    assert population == expected == {"prod-eu", "PROD-us"}


@pytest.mark.parametrize(
    ("query", "name", "pattern"),
    [
        ("population", "d.environment", "p.value"),
        ("tests_passed", "j.name", "pattern.value"),
        ("scan_clean", "j.name", "pattern.value"),
    ],
)
def test_the_sql_states_the_one_definition(query, name, pattern):
    assert MATCH.format(name=name, pattern=pattern) in query_text(query)


def test_sql_agrees_with_python(store):
    for pattern in ("prod[!x]*", "PROD-*", "*", "st?ging", "[ps]*"):
        in_sql = {
            row["environment"]
            for row in run_sql(
                store,
                "population",
                start="2024-04-01T00:00:00Z",
                end="2024-07-01T00:00:00Z",
                environments=f'["{pattern}"]',
            )
        }
        assert in_sql == {name for name in ENVIRONMENTS if matches_any(name, [pattern])}, pattern
