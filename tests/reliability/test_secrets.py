"""A canary token never appears in logs, messages, the store or any output.

GITHUB_TOKEN is the canary and the fake GitHub accepts nothing else, so every request that
succeeded carried it. The runs meet faults and errors on the way, so retry logging and
error messages are exercised too; then every byte written is searched.
"""

from __future__ import annotations

from audit.demo.fakegithub import FakeGitHub
from tests.conftest import run_cli
from tests.reliability.helpers import CANARY, QUARTER, REPOSITORY, cli_env, run_order

SCOPE_ERROR = {"message": "Resource not accessible by personal access token", "documentation_url": "https://docs"}


def test_the_token_never_leaks(world, tmp_path):
    db = str(tmp_path / "evidence.db")
    quarter = ("--quarter", str(QUARTER))
    outputs: list[str] = []

    def cli(*args: str, expect: int, env: dict | None = None) -> None:
        result = run_cli(*args, cwd=tmp_path, env=env or cli_env(tmp_path, server.base_url), timeout=180)
        assert result.returncode == expect, result.stderr
        outputs.extend([result.stdout, result.stderr])

    with FakeGitHub(world, token=CANARY) as server:
        server.add_fault(r".", 502, times=None, probability=0.05, seed=5)
        server.add_fault(r"/environments$", 403, headers={"retry-after": "1"})
        server.exhaust_rate_limit(r"/actions/runs$", reset_in=1)
        cli("extract", *quarter, "--repo", REPOSITORY, "--db", db, expect=0)
        cli("evaluate", *quarter, "--db", db, expect=0)
        cli("render", *quarter, "--db", db, "--output", str(tmp_path / "out"), expect=0)

        server.clear_faults()
        server.exhaust_rate_limit(rf"/artifacts/{run_order(world)[0].artifacts[0].id}/zip$", reset_in=3600)
        cli("extract", *quarter, "--repo", REPOSITORY, "--db", str(tmp_path / "waited.db"), expect=1)
        server.add_fault(r"/deployments$", 403, body=SCOPE_ERROR, times=None)  # fatal at the listing
        cli("extract", *quarter, "--repo", REPOSITORY, "--db", str(tmp_path / "scopes.db"), expect=2)
        served = [r for r in server.requests if not r.blob]
    assert served and all(r.status != 401 for r in served), "the canary was the token in use"

    with FakeGitHub(world, token="ghp_the_real_one") as server:  # GitHub refuses the canary
        cli("extract", *quarter, "--repo", REPOSITORY, "--db", str(tmp_path / "refused.db"), expect=2)
    with FakeGitHub(world, token=CANARY) as server:
        cli("report", *quarter, "--repo", REPOSITORY, "--db", str(tmp_path / "unsigned.db"), expect=2)

    assert outputs and all(CANARY not in text for text in outputs), [t for t in outputs if CANARY in t]
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {"evidence.db", "report.pdf", "report.html", "findings.json", "population.csv"} <= {p.name for p in written}
    assert [str(p) for p in written if CANARY.encode() in p.read_bytes()] == []
