"""Fixtures for the fake GitHub tests: the demo server and tiny hand-built worlds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from audit.demo.fakegithub import FakeGitHub, World
from audit.demo.organisation import start_demo_server

T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
"""A Monday in 2024Q2: the reference time of the tiny worlds."""


def make_world(*, runs: int = 1, as_of: datetime | None = None, waiting: bool = False) -> World:
    """One repository `acme/app` with `runs` approved production deployments an hour apart,
    each with a merged reviewed PR, test + deploy jobs and a bandit artifact; `waiting` adds
    a run still waiting for its production approval."""
    world = World(as_of=as_of or T0 + timedelta(days=30), organization="acme")
    repo = world.add_repository("acme/app", default_branch="main")
    repo.add_environment("production", reviewers=["dana"], prevent_self_review=True)
    repo.add_environment("eu/staging")
    for index in range(runs):
        created = T0 + timedelta(hours=index)
        sha = f"{index:040x}"
        pull = repo.add_pull(
            user="alice",
            head_sha=f"{index:039x}f",
            created_at=created - timedelta(hours=2),
            merged_at=created,
            merge_commit_sha=sha,
        )
        pull.add_review("bob", submitted_at=created - timedelta(hours=1))
        run = repo.add_run(head_sha=sha, actor="alice", created_at=created)
        run.add_job("test", started_at=created, completed_at=created + timedelta(minutes=3))
        requested = created + timedelta(minutes=4)
        deploy = run.add_job(
            "deploy", started_at=requested + timedelta(minutes=10), environment="production", created_at=requested
        )
        run.add_approval("dana")
        repo.add_deployment(
            run,
            deploy,
            environment="production",
            statuses=[
                ("waiting", requested),
                ("queued", requested + timedelta(minutes=10)),
                ("success", requested + timedelta(minutes=12)),
            ],
        )
        run.add_artifact("bandit-report", {"report.json": {"results": []}}, created_at=created + timedelta(minutes=3))
    if waiting:
        created = T0 + timedelta(days=1)
        run = repo.add_run(head_sha="f" * 40, actor="alice", created_at=created, status="waiting", conclusion=None)
        run.add_job(
            "deploy",
            started_at=created,
            status="waiting",
            conclusion=None,
            environment="production",
            created_at=created,
        )
        run.pending_environments.append("production")
    return world


@pytest.fixture(scope="session")
def demo_server() -> Iterator[FakeGitHub]:
    server = start_demo_server()
    yield server
    server.stop()


@pytest.fixture()
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub(make_world(runs=3)) as running:
        yield running
