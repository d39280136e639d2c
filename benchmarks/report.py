"""`make bench`, part 2: what a report costs once the evidence is stored.

1. `soc2-audit evaluate` then `soc2-audit render`, each in a fresh process, on a seeded store
   of 10,000 and of 50,000 deployments (`tests.synthetic_store`: rows written directly, with
   every awkward case the controls know, since extracting 50,000 through the fake GitHub
   takes far longer than the report); wall time and the larger peak memory of the two
   (of the process tree, summed PSS: the render's forked worker counts).
2. `soc2-audit report` in demo mode (no token): the first run extracts the demo
   organisation from the local fake GitHub, the second finds its evidence stored (the
   everyday `make report QUARTER=2024Q2` with a warm venv).

    python -m benchmarks.report [SIZE ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from benchmarks.extraction import timed

QUARTER = "2024Q2"
TARGETS = {10_000: (15.0, 400.0), 50_000: (60.0, 800.0)}
"""Deployments -> (seconds, peak MB) for evaluate + render."""
DEMO_TARGET_S = 10.0


def _clean_env(directory: str) -> dict[str, str]:
    """No token, no configuration, signing keys kept in the temporary directory: the demo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUDIT_"))}
    env["HOME"] = directory
    env["XDG_CONFIG_HOME"] = str(Path(directory) / ".config")
    return env


def evaluate_and_render(size: int) -> dict:
    from tests.synthetic_store import build_store

    with tempfile.TemporaryDirectory() as directory:
        db = str(Path(directory) / "evidence.db")
        build_store(db, deployments=size).close()
        env, cli = _clean_env(directory), [sys.executable, "-m", "audit"]
        evaluate_s, evaluate_mb, _ = timed([*cli, "evaluate", "--quarter", QUARTER, "--db", db], env, directory)
        render_s, render_mb, _ = timed(
            [*cli, "render", "--quarter", QUARTER, "--db", db, "--output", str(Path(directory) / "out")],
            env,
            directory,
        )
        pdf_mb = (Path(directory) / "out" / "report.pdf").stat().st_size / 1e6
    return {
        "evaluate_s": evaluate_s,
        "render_s": render_s,
        "seconds": evaluate_s + render_s,
        "peak_mb": max(evaluate_mb, render_mb),
        "pdf_mb": pdf_mb,
    }


def demo_report() -> tuple[float, float, float]:
    """(first run s, second run s, peak MB of the second) of `soc2-audit report` in demo mode."""
    with tempfile.TemporaryDirectory() as directory:
        env = _clean_env(directory)
        command = [sys.executable, "-m", "audit", "report", "--quarter", QUARTER]
        first_s, _, _ = timed(command, env, directory)
        second_s, second_mb, _ = timed(command, env, directory)
    return first_s, second_s, second_mb


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sizes = [int(arg) for arg in argv] or list(TARGETS)
    print(f"python -m benchmarks.report {' '.join(map(str, sizes))}  (seeded store, then the demo)", flush=True)
    # No floor column for the report: it has no natural minimum like the API's requests.
    print(
        f"{'evaluate + render':34} {'measured':>10} {'target':>10} {'floor':>6} {'evaluate s':>11} "
        f"{'render s':>9} {'PDF MB':>7}"
    )
    for size in sizes:
        r = evaluate_and_render(size)
        seconds, megabytes = TARGETS.get(size, (float("nan"), float("nan")))
        print(
            f"{f'{size:,} deployments, s':34} {r['seconds']:>10.1f} {f'<= {seconds:.0f}':>10} {'—':>6} "
            f"{r['evaluate_s']:>11.1f} {r['render_s']:>9.1f} {r['pdf_mb']:>7.1f}\n"
            f"{f'{size:,} deployments, peak MB':34} {r['peak_mb']:>10.0f} {f'<= {megabytes:.0f}':>10} {'—':>6}",
            flush=True,
        )
    first_s, second_s, second_mb = demo_report()
    print(
        f"{'demo report, stored evidence, s':34} {second_s:>10.1f} {f'<= {DEMO_TARGET_S:.0f}':>10} {'—':>6}   "
        f"(first run, extracting: {first_s:.1f} s; peak {second_mb:.0f} MB)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
