"""The fake server's distance from the client: latency before every answer, and the
bandwidth of blob downloads. The waits are recorded, not timed."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import requests

from audit.demo.fakegithub import FakeGitHub
from audit.demo.fakegithub import server as server_module
from audit.demo.fakegithub.__main__ import main as serve_main

from .conftest import make_world


@pytest.fixture()
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep the server asks for, in order (it does not actually sleep)."""
    recorded: list[float] = []
    monkeypatch.setattr(server_module, "time", SimpleNamespace(sleep=recorded.append, time=time.time))
    return recorded


def test_every_request_waits_the_latency_and_a_blob_its_transfer_time(waits: list[float]) -> None:
    world = make_world(runs=1)
    artifact = next(iter(world.artifacts.values()))[1]
    with FakeGitHub(world, latency_ms=150, blob_bytes_per_second=1000) as server:
        listing = requests.get(f"{server.base_url}/repos/acme/app/actions/artifacts", timeout=10)
        download = requests.get(
            f"{server.base_url}/repos/acme/app/actions/artifacts/{artifact.id}/zip", timeout=10, allow_redirects=True
        )
    assert listing.status_code == 200 and download.content == artifact.data
    # listing, the 302, the blob (latency, then its bytes at 1,000 bytes/s)
    assert waits == [0.15, 0.15, 0.15, pytest.approx(len(artifact.data) / 1000)]


def test_no_latency_by_default(waits: list[float]) -> None:
    with FakeGitHub(make_world(runs=1)) as server:
        assert requests.get(f"{server.base_url}/repos/acme/app", timeout=10).status_code == 200
    assert waits == []


def test_command_line_refuses_a_negative_latency(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve_main(["--latency-ms", "-5"])
    assert exit_info.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
