"""Fixtures of the reliability tests: one small world and its clean extraction."""

from __future__ import annotations

import pytest

from audit.demo.fakegithub import FakeGitHub
from tests.reliability.helpers import evidence, extract_quarter, small_world, verdicts


@pytest.fixture(scope="session")
def world():
    return small_world()


@pytest.fixture(scope="session")
def clean(world, tmp_path_factory):
    """The clean extraction every faulty, crashed or repeated one must equal."""
    db_path = tmp_path_factory.mktemp("clean") / "evidence.db"
    with FakeGitHub(world) as server:
        client = extract_quarter(db_path, server.base_url)
    assert client.counter.retries == 0
    return {"db": db_path, "evidence": evidence(db_path), "verdicts": verdicts(db_path)}
