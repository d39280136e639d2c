"""The evidence branch's layout at scale: eight quarters of 10,000 deployments each.

    python -m benchmarks.evidence_branch [--deployments N] [--quarters K] [--keep DIR]

1. One quarter of N synthetic production deployments (`synthetic_world`: a test and a deploy
   job, an approved PR, an environment approval, a bandit report per run, a coverage report
   for about half) is extracted through the fake GitHub into a fresh store, as a capture does.
2. K quarter files are made from it: quarter k is that store with every integer id column
   moved by k * 10^9, so each file differs (git shares nothing between them) while keeping the
   real store's size and compressibility. Each is compressed as the workflows do (xz -6,
   the same format and preset as Python's lzma).
3. An `audit-evidence` branch gets one commit per quarter (stores/<QUARTER>.db.xz) in a bare
   repository, and two checkouts are timed, as the workflows make them: the whole tip
   (depth 1), and the sparse one a capture uses (depth 1, blob:none, the current and
   previous quarter only), with the bytes each one fetched.

Local disk and loopback only: the times leave out the network; the bytes fetched are what a
runner would download.
"""

from __future__ import annotations

import argparse
import lzma
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

QUARTER = "2024Q2"
REPOSITORY = "synthetic/service-000"


def extract_quarter(db_path: Path, deployments: int) -> float:
    from audit.config import Settings
    from audit.demo.fakegithub import FakeGitHub, synthetic_world
    from audit.extract import Extractor, GitHubClient
    from audit.quarter import Quarter
    from audit.store import open_store

    world = synthetic_world(deployments=deployments)
    started = time.perf_counter()
    with FakeGitHub(world, rate_limit=10**9) as server:  # the budget is not what this measures
        client = GitHubClient(server.base_url, None)
        try:
            Extractor(open_store(db_path), client, Settings(), Quarter.parse(QUARTER)).run([REPOSITORY])
        finally:
            client.close()
    return time.perf_counter() - started


def shifted_copy(source: Path, target: Path, offset: int) -> None:
    """`source` with every integer `id`/`*_id` column moved by `offset`, vacuumed."""
    shutil.copy(source, target)
    with sqlite3.connect(target) as conn:
        tables = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            for _, column, kind, *_ in conn.execute(f'pragma table_info("{table}")').fetchall():
                if (column == "id" or column.endswith("_id")) and kind.upper() == "INTEGER":
                    conn.execute(
                        f'update "{table}" set "{column}" = "{column}" + ? where "{column}" is not null', [offset]
                    )
    conn.close()
    with sqlite3.connect(target) as conn:
        conn.execute("vacuum")
    conn.close()


def compress(source: Path, target: Path) -> float:
    started = time.perf_counter()
    with source.open("rb") as raw, lzma.open(target, "wb", preset=6) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)
    return time.perf_counter() - started


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def quarters(count: int) -> list[str]:
    names = []
    year, number = 2024, 2
    for _ in range(count):
        names.append(f"{year}Q{number}")
        year, number = (year + 1, 1) if number == 4 else (year, number + 1)
    return names


def timed_clone(remote: str, target: Path, *extra: str, sparse: list[str] | None = None) -> tuple[float, int]:
    """Seconds and bytes of objects fetched for one checkout like the workflows'."""
    started = time.perf_counter()
    git("clone", "--quiet", "--depth", "1", "--branch", "audit-evidence", *extra, remote, str(target))
    if sparse is not None:
        git("sparse-checkout", "set", "--no-cone", *sparse, cwd=target)
    seconds = time.perf_counter() - started
    fetched = sum(f.stat().st_size for f in (target / ".git" / "objects").rglob("*") if f.is_file())
    return seconds, fetched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="evidence-branch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        base = work / "base.db"
        seconds = extract_quarter(base, args.deployments)  # incremental: a kept directory resumes
        print(f"extracted {args.deployments:,} deployments in {seconds:.0f} s", flush=True)
        names = quarters(args.quarters)
        checkout = work / "checkout"
        shutil.rmtree(checkout, ignore_errors=True)
        git("init", "--quiet", "--initial-branch", "audit-evidence", str(checkout))
        (checkout / "stores").mkdir()
        rows = []
        for index, name in enumerate(names):
            db = work / f"{name}.db"
            shifted_copy(base, db, index * 10**9)
            packed = checkout / "stores" / f"{name}.db.xz"
            seconds = compress(db, packed)
            rows.append((name, db.stat().st_size, packed.stat().st_size, seconds))
            print(
                f"{name}: {db.stat().st_size / 1e6:.1f} MB store, {packed.stat().st_size / 1e6:.1f} MB xz "
                f"({seconds:.0f} s)",
                flush=True,
            )
            db.unlink()
            git("add", "stores", cwd=checkout)
            git(
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.invalid",
                "commit",
                "--quiet",
                "-m",
                f"Evidence for {name}",
                cwd=checkout,
            )
        remote = work / "remote.git"
        shutil.rmtree(remote, ignore_errors=True)
        git("clone", "--quiet", "--bare", str(checkout), str(remote))
        git("config", "uploadpack.allowFilter", "true", cwd=remote)
        url = remote.as_uri()
        full_s, full_b = timed_clone(url, work / "full")
        current = [f"/stores/{name}.db.xz" for name in names[-2:]]
        sparse_s, sparse_b = timed_clone(url, work / "sparse", "--filter=blob:none", "--sparse", sparse=current)
        branch = sum(f.stat().st_size for f in remote.rglob("*") if f.is_file())

        print()
        print(f"{args.quarters} quarters of {args.deployments:,} production deployments, one file per quarter")
        print("quarter   store MB   xz MB   xz s   bytes per deployment (xz)")
        for name, raw, packed, seconds in rows:
            print(f"{name}   {raw / 1e6:8.1f} {packed / 1e6:7.1f} {seconds:6.0f}   {packed / args.deployments:,.0f}")
        print(f"branch (bare repository, {len(names)} commits): {branch / 1e6:.1f} MB")
        print(f"checkout of the whole tip (depth 1):           {full_s:6.1f} s, {full_b / 1e6:7.1f} MB fetched")
        print(f"sparse checkout, current + previous quarter:   {sparse_s:6.1f} s, {sparse_b / 1e6:7.1f} MB fetched")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
