"""`make bench`: API requests per deployment and time/memory of a quarter, batched vs naive.

For each size (default 1,000 and 10,000 production deployments) a synthetic quarter
(`audit.demo.fakegithub.synthetic_world`: one repository, a test and a deploy job, an approved PR,
an environment approval, a bandit report per run and a coverage report for about half) is
served by the fake GitHub in this process, and in fresh subprocesses:

1. the first extraction into an empty store, then a re-extraction of the unchanged quarter
   (`python -m benchmarks.extraction --extract URL DB batched|naive`);
2. the report from that store: `soc2-audit evaluate`, then `soc2-audit render`.

Requests are counted by the server (artifact blob downloads not counted, the 302 that
leads to each one counted). Peak memory is each subprocess's own maximum resident set
(`os.wait4`). "naive" is the per-run REST path: per run, its jobs, approvals, artifact
list, each artifact, the commit's pull requests and their reviews, plus each deployment's
statuses.

    python -m benchmarks.extraction [SIZE ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1_000, 10_000)
QUARTER = "2024Q2"
MODES = ("batched", "naive")


def extract(api_url: str, db_path: str, mode: str) -> dict:
    """One extraction of the synthetic repository into `db_path` (run in a subprocess)."""
    from audit.config import Settings
    from audit.extract import Extractor, GitHubClient
    from audit.quarter import Quarter
    from audit.store import open_store

    db = open_store(db_path)
    client = GitHubClient(api_url, None)
    started = time.perf_counter()
    try:
        summary = Extractor(db, client, Settings(), Quarter.parse(QUARTER), batched=mode == "batched").run(
            ["synthetic/service-000"]
        )
    finally:
        client.close()
    return {"seconds": time.perf_counter() - started, "deployments": summary.production_deployments}


def _timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a `_peak_wrapper` command; (wall seconds, peak RSS MB of the wrapped process, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return seconds, _last_peak_mb(stderr), stdout


def _last_peak_mb(stderr: str) -> float:
    for line in reversed(stderr.splitlines()):
        if line.startswith("peak_rss_kb="):
            return int(line.split("=", 1)[1]) / 1024
    return float("nan")


def _peak_wrapper(*argv: str) -> list[str]:
    """`python -m benchmarks.extraction --peak ARGV…`: run ARGV as a child and report its peak RSS."""
    return [sys.executable, "-m", "benchmarks.extraction", "--peak", *argv]


def _peak(argv: list[str]) -> int:
    process = subprocess.Popen(argv)
    _, status, usage = os.wait4(process.pid, 0)
    print(f"peak_rss_kb={usage.ru_maxrss}", file=sys.stderr)
    return os.waitstatus_to_exitcode(status)


def measure(size: int) -> dict[str, dict]:
    """Both approaches on one synthetic quarter of `size` deployments."""
    from audit.demo.fakegithub import FakeGitHub, synthetic_world

    world = synthetic_world(deployments=size, organization="synthetic")
    results: dict[str, dict] = {}
    with FakeGitHub(world, rate_limit=10**9) as server, tempfile.TemporaryDirectory() as directory:
        for mode in MODES:
            db = str(Path(directory) / f"{mode}.db")
            extract_command = _peak_wrapper(
                sys.executable, "-m", "benchmarks.extraction", "--extract", server.base_url, db, mode
            )
            server.reset_requests()
            first_s, first_mb, out = _timed(extract_command)
            first = server.request_count()
            deployments = json.loads(out.strip().splitlines()[-1])["deployments"]
            server.reset_requests()
            _timed(extract_command)
            again = server.request_count()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AUDIT_"))}
            cli = [sys.executable, "-m", "audit"]
            out_dir = str(Path(directory) / f"{mode}-out")
            evaluate_s, evaluate_mb, _ = _timed(_peak_wrapper(*cli, "evaluate", "--quarter", QUARTER, "--db", db), env)
            render_s, render_mb, _ = _timed(
                _peak_wrapper(*cli, "render", "--quarter", QUARTER, "--db", db, "--output", out_dir), env
            )
            results[mode] = {
                "deployments": deployments,
                "first_requests": first,
                "reextract_requests": again,
                "extract_seconds": first_s,
                "extract_peak_mb": first_mb,
                "report_seconds": evaluate_s + render_s,
                "report_peak_mb": max(evaluate_mb, render_mb),
                "end_to_end_seconds": first_s + evaluate_s + render_s,
            }
    return results


ROWS = (
    ("API requests, first extraction", lambda r: f"{r['first_requests']:,}"),
    ("  per deployment", lambda r: f"{r['first_requests'] / r['deployments']:.2f}"),
    ("API requests, re-extraction", lambda r: f"{r['reextract_requests']:,}"),
    ("  per deployment", lambda r: f"{r['reextract_requests'] / r['deployments']:.3f}"),
    ("extraction s", lambda r: f"{r['extract_seconds']:.1f}"),
    ("extraction peak RSS MB", lambda r: f"{r['extract_peak_mb']:.0f}"),
    ("report s (evaluate + render)", lambda r: f"{r['report_seconds']:.1f}"),
    ("report peak RSS MB", lambda r: f"{r['report_peak_mb']:.0f}"),
    ("end to end s", lambda r: f"{r['end_to_end_seconds']:.1f}"),
)


def table(size: int, results: dict[str, dict]) -> str:
    lines = [f"{size:,} production deployments", f"{'':32} {'batched':>10} {'naive':>10}"]
    for label, cell in ROWS:
        lines.append(f"{label:32} {cell(results['batched']):>10} {cell(results['naive']):>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--extract"]:
        print(json.dumps(extract(*argv[1:4])))
        return 0
    if argv[:1] == ["--peak"]:
        return _peak(argv[1:])
    sizes = [int(arg) for arg in argv] or list(SIZES)
    print(
        f"python -m benchmarks.extraction {' '.join(str(s) for s in sizes)}"
        f"  (synthetic quarter {QUARTER}, fake GitHub)\n"
    )
    for size in sizes:
        print(table(size, measure(size)) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
