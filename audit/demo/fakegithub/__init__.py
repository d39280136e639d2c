"""A fake GitHub REST API on 127.0.0.1 for tests and demo mode.

`World` (world.py) is the data; `FakeGitHub` (server.py) serves it as GitHub would, built from
GitHub's own example objects (render.py, examples/).
"""

from audit.demo.fakegithub.server import FakeGitHub, Fault, RequestRecord
from audit.demo.fakegithub.world import (
    Approval,
    Artifact,
    Deployment,
    DeploymentStatus,
    Environment,
    Job,
    PullRequest,
    Repository,
    Review,
    Team,
    WorkflowRun,
    World,
    fake_sha,
    make_zip,
    synthetic_world,
)

__all__ = [
    "Approval",
    "Artifact",
    "Deployment",
    "DeploymentStatus",
    "Environment",
    "FakeGitHub",
    "Fault",
    "Job",
    "PullRequest",
    "Repository",
    "RequestRecord",
    "Review",
    "Team",
    "World",
    "WorkflowRun",
    "fake_sha",
    "make_zip",
    "synthetic_world",
]
