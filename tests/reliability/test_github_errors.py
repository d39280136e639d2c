"""What GitHub refuses ends as one line on stderr, never a traceback.

Exit 2 for what the person running us can fix (repository name, token, scopes, signing
key); exit 1 when GitHub cannot serve the extraction (unreachable through every retry).
"""

from __future__ import annotations

import socket

import pytest

from audit.demo.fakegithub import FakeGitHub
from tests.conftest import run_cli
from tests.reliability.helpers import CANARY, QUARTER, REPOSITORY, cli_env

SCOPE_ERROR = {"message": "Resource not accessible by personal access token", "documentation_url": "https://docs"}


@pytest.mark.parametrize(
    ("args", "token", "fault", "expected"),
    [
        pytest.param(
            ("extract", "--repo", "synthetic/no-such-repo"),
            CANARY,
            None,
            "repository synthetic/no-such-repo not found, or the token cannot see it",
            id="unknown repository (404)",
        ),
        pytest.param(
            ("extract", "--repo", REPOSITORY),
            "ghp_revoked0000000000000000000000000000",
            None,
            f"GitHub refused access to {REPOSITORY} (HTTP 401): check the token and its scopes",
            id="bad credentials (401)",
        ),
        pytest.param(
            ("extract", "--repo", REPOSITORY),
            CANARY,
            (rf"^/repos/{REPOSITORY}$", 403),
            f"GitHub refused access to {REPOSITORY} (HTTP 403): check the token and its scopes",
            id="token cannot read the repository (403)",
        ),
        pytest.param(
            ("extract", "--repo", REPOSITORY),
            CANARY,
            (r"/deployments$", 403),  # the listing: one refused status list is a degraded lookup
            "(HTTP 403: Resource not accessible by personal access token): check the token and its scopes",
            id="token lacks the deployments scope (403)",
        ),
        pytest.param(
            ("report", "--repo", REPOSITORY),
            CANARY,
            None,
            "AUDIT_SIGNING_KEY",
            id="no signing key",
        ),
    ],
)
def test_github_refusals_are_one_line_and_exit_2(world, tmp_path, args, token, fault, expected):
    with FakeGitHub(world, token=CANARY) as server:
        if fault:
            server.add_fault(fault[0], fault[1], body=SCOPE_ERROR, times=None)
        result = run_cli(
            *args,
            "--quarter",
            str(QUARTER),
            "--db",
            str(tmp_path / "evidence.db"),
            cwd=tmp_path,
            env=cli_env(tmp_path, server.base_url, token=token),
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("soc2-audit:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr


def test_a_missing_signing_key_file_is_exit_2(world, tmp_path):
    with FakeGitHub(world, token=CANARY) as server:
        result = run_cli(
            "report",
            "--quarter",
            str(QUARTER),
            "--repo",
            REPOSITORY,
            cwd=tmp_path,
            env=cli_env(tmp_path, server.base_url, AUDIT_SIGNING_KEY=str(tmp_path / "missing.p12")),
            timeout=120,
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"soc2-audit: error: cannot read signing key {tmp_path / 'missing.p12'} (AUDIT_SIGNING_KEY): "
        "No such file or directory"
    ]
    assert server.request_count() == 0, "the key is checked before spending API requests"


def test_unreachable_github_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = run_cli(
        "extract",
        "--quarter",
        str(QUARTER),
        "--repo",
        REPOSITORY,
        "--max-wait",
        "1",
        cwd=tmp_path,
        env=cli_env(tmp_path, url),
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("soc2-audit:")]
    assert errors == [
        "soc2-audit: error: GitHub unavailable: 2 failures in a row across requests (last: NewConnectionError on "
        f"GET /repos/{REPOSITORY}); waiting 2 s more would pass the 1 s allowed (--max-wait); stopping the run: "
        "the evidence captured so far is kept and the next run fetches the rest"
    ], result.stderr
    assert "GitHub: NewConnectionError on GET" in result.stderr
