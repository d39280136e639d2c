"""Shared fixtures: running the real CLI in a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The process environment minus anything that would leak a real token or config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "AUDIT_")) and k not in ("SOURCE_DATE_EPOCH",)
    }
    env["AUDIT_DEMO_KEY_DIR"] = str(tmp / "demo-keys")
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m audit ARGS` as a user would, capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "audit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory):
    """One full demo `report --quarter 2024Q2` for the whole session (it takes a while)."""
    tmp = tmp_path_factory.mktemp("demo-report")
    env = clean_env(tmp)
    result = run_cli(
        "report",
        "--quarter",
        "2024Q2",
        "--db",
        str(tmp / "evidence.db"),
        "--output",
        str(tmp / "out"),
        cwd=tmp,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return {"dir": tmp / "out", "db": tmp / "evidence.db", "env": env, "cwd": tmp, "result": result}
