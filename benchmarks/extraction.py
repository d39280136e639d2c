"""`make bench`, part 1: API requests per deployment, and first-capture wall time with GitHub far away.

A synthetic quarter (`audit.demo.fakegithub.synthetic_world`: one repository; per run a
test and a deploy job, an approved PR, an environment approval, a bandit report and, for
about half the runs, a coverage report) is served by the fake GitHub in this process, and
extracted in fresh subprocesses into empty stores, side by side in one invocation:

- concurrent: the shipped extraction, a handful of API requests in flight and blob downloads beside
  them (`audit.extract.parallel`);
- sequential: the same client with one request in flight, the baseline for wall time;
- naive: per-run REST requests, one at a time, the baseline for requests (run without
  latency: at 150 ms it alone would take about 15 minutes).

The fake server waits `--latency-ms` (default 150, GitHub answers in 100-300 ms) before
every answer, blob downloads included. Requests are counted by the server: blob downloads
are not API requests, the 302 that leads to each one is. The two stores are compared row by
row (capture times aside). Then the unchanged quarter is extracted again.

The floor for a first capture: one listing per 100 runs and per 100 deployments, one
GraphQL query per 100 runs, commits and deployments (about 0.1 per deployment together),
and one `/zip` per scan artifact that must be downloaded.

    python -m benchmarks.extraction [--deployments N] [--latency-ms MS]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUARTER = "2024Q2"
REPOSITORY = "synthetic/service-000"
SPEED_UP_TARGET = 4.0


def extract(api_url: str, db_path: str, mode: str, workers: str) -> dict:
    """One extraction of the synthetic repository into `db_path` (run in a subprocess)."""
    from audit.config import Settings
    from audit.extract import Extractor, GitHubClient
    from audit.quarter import Quarter
    from audit.store import open_store

    db = open_store(db_path)
    client = GitHubClient(api_url, None)
    started = time.perf_counter()
    try:
        summary = Extractor(
            db, client, Settings(), Quarter.parse(QUARTER), batched=mode == "batched", workers=int(workers)
        ).run([REPOSITORY])
    finally:
        client.close()
    return {"seconds": time.perf_counter() - started, "deployments": summary.production_deployments}


def _timed(command: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, float, str]:
    """Run a `peak_wrapper` command; (wall seconds, peak MB of the wrapped process tree, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return seconds, _last_peak_mb(stderr), stdout


def _last_peak_mb(stderr: str) -> float:
    for line in reversed(stderr.splitlines()):
        if line.startswith("peak_kb="):
            return int(line.split("=", 1)[1]) / 1024
    return float("nan")


def peak_wrapper(*argv: str) -> list[str]:
    """`python benchmarks/extraction.py --peak ARGV…`: run ARGV as a child and report its peak
    memory (by path: the command may run in another working directory)."""
    return [sys.executable, str(Path(__file__).resolve()), "--peak", *argv]


def _children(pid: int) -> list[int]:
    """The child processes of `pid`, from the kernel's per-thread children lists."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(child) for child in children.read().split())
    except OSError:
        pass
    return found


def _tree_pss_kb(root: int) -> int:
    """The proportional set size of `root` and all its descendants, summed (kB): what the
    process tree holds in memory, pages shared after a fork counted once."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending.extend(_children(pid))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
        except OSError:
            continue
    return total


def _peak(argv: list[str]) -> int:
    """Run `argv`; print the larger of its own peak RSS and the peak summed PSS of its process
    tree (sampled every 0.2 s: walking the tree costs CPU the measured run would miss on 2
    cores), so a report rendered by several processes counts them all."""
    process = subprocess.Popen(argv)
    tree_kb = 0
    while process.poll() is None:
        tree_kb = max(tree_kb, _tree_pss_kb(process.pid))
        time.sleep(0.2)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"peak_kb={max(tree_kb, usage.ru_maxrss)}", file=sys.stderr)
    return process.returncode


def timed(command: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, float, str]:
    """Wall seconds and peak MB (of its process tree) of `command`, run in a fresh process; and its stdout."""
    return _timed(peak_wrapper(*command), env, cwd)


def floor(world) -> float:
    """Scan artifacts that must be downloaded per production deployment, + 0.1."""
    from audit.controls.people import might_be_scan_evidence

    deployments = sum(len(repo.deployments) for repo in world.repositories.values())
    scans = sum(
        1 for _, a in world.artifacts.values() if might_be_scan_evidence(a.name) and not a.is_expired(world.as_of)
    )
    return scans / deployments + 0.1


def same_rows(first: Path, second: Path) -> str:
    """ "yes", or the tables whose rows (capture times aside) differ."""
    from audit.store import CAPTURE_TIME_COLUMNS, RUN_EVIDENCE_TABLES

    def rows(path: Path, table: str) -> list[tuple]:
        with sqlite3.connect(path) as db:
            listed = db.execute(f"pragma table_info({table})")
            columns = [row[1] for row in listed if row[1] not in CAPTURE_TIME_COLUMNS]
            return sorted(db.execute(f"select {', '.join(columns)} from {table}").fetchall())

    differ = [table for table in RUN_EVIDENCE_TABLES if rows(first, table) != rows(second, table)]
    return "yes" if not differ else "NO: " + ", ".join(differ)


def measure(deployments: int, latency_ms: float) -> dict:
    """Concurrent, sequential and naive first captures of one synthetic quarter, and a re-extraction."""
    from audit.demo.fakegithub import FakeGitHub, synthetic_world
    from audit.extract.parallel import DEFAULT_WORKERS

    world = synthetic_world(deployments=deployments, organization="synthetic")
    runs = (
        ("concurrent", "batched", DEFAULT_WORKERS, latency_ms),
        ("sequential", "batched", 1, latency_ms),
        ("naive", "naive", 1, 0.0),
    )
    results: dict = {"floor": floor(world), "workers": DEFAULT_WORKERS}
    with tempfile.TemporaryDirectory() as directory:
        for name, mode, workers, latency in runs:
            db = str(Path(directory) / f"{name}.db")
            command = [sys.executable, "-m", "benchmarks.extraction", "--extract", "URL", db, mode, str(workers)]
            with FakeGitHub(world, rate_limit=10**9, latency_ms=latency) as server:
                command[4] = server.base_url
                seconds, peak_mb, out = timed(command)
                requests = server.request_count()
                again = None
                if name == "concurrent":
                    server.reset_requests()
                    timed(command)
                    again = server.request_count()
            results[name] = {
                "deployments": json.loads(out.strip().splitlines()[-1])["deployments"],
                "requests": requests,
                "reextract_requests": again,
                "seconds": seconds,
                "peak_mb": peak_mb,
                "latency_ms": latency,
            }
            print(f"  {name}: {requests:,} requests in {seconds:.1f} s", file=sys.stderr, flush=True)
        results["same_rows"] = same_rows(Path(directory) / "concurrent.db", Path(directory) / "sequential.db")
    return results


def table(latency_ms: float, r: dict) -> str:
    concurrent, sequential, naive = r["concurrent"], r["sequential"], r["naive"]
    n = concurrent["deployments"]
    speed_up = sequential["seconds"] / concurrent["seconds"]
    rows = [
        ("", "measured", "target", "floor", "sequential", "naive"),
        (
            "API requests / deployment",
            f"{concurrent['requests'] / n:.2f}",
            "the floor",
            f"{r['floor']:.2f}",
            f"{sequential['requests'] / n:.2f}",
            f"{naive['requests'] / n:.2f}",
        ),
        (
            "API requests, first capture",
            f"{concurrent['requests']:,}",
            "",
            "",
            f"{sequential['requests']:,}",
            f"{naive['requests']:,}",
        ),
        (
            f"first capture s ({latency_ms:.0f} ms away)",
            f"{concurrent['seconds']:.1f}",
            f"<= {sequential['seconds'] / SPEED_UP_TARGET:.1f}",
            "",
            f"{sequential['seconds']:.1f}",
            f"({naive['seconds']:.1f} at 0 ms)",
        ),
        ("speed-up vs sequential", f"{speed_up:.1f}x", f">= {SPEED_UP_TARGET:.0f}x", "", "1.0x", ""),
        ("same rows as sequential", r["same_rows"], "yes", "", "", ""),
        ("re-extraction requests / dep.", f"{concurrent['reextract_requests'] / n:.3f}", "<= 0.05", "", "", ""),
        (
            "extraction peak RSS MB",
            f"{concurrent['peak_mb']:.0f}",
            "",
            "",
            f"{sequential['peak_mb']:.0f}",
            f"{naive['peak_mb']:.0f}",
        ),
    ]
    lines = [
        f"first capture of {n:,} production deployments, fake GitHub {latency_ms:.0f} ms away "
        f"(concurrent: {r['workers']} API requests in flight, blob downloads on {r['workers']} threads of their own)"
    ]
    for row in rows:
        lines.append(f"{row[0]:34} {row[1]:>10} {row[2]:>10} {row[3]:>6} {row[4]:>11} {row[5]:>16}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--extract"]:
        print(json.dumps(extract(*argv[1:5])))
        return 0
    if argv[:1] == ["--peak"]:
        return _peak(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extraction")
    parser.add_argument("--deployments", type=int, default=1_000)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    args = parser.parse_args(argv)
    print(
        f"python -m benchmarks.extraction --deployments {args.deployments} --latency-ms {args.latency_ms:.0f}"
        f"  (synthetic quarter {QUARTER}, fake GitHub)",
        flush=True,
    )
    print(table(args.latency_ms, measure(args.deployments, args.latency_ms)) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
