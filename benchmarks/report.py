"""`make bench`: render time and peak memory of the full output set at 1k, 10k and 50k deployments.

Each size runs in a fresh subprocess (`python -m benchmarks.report --one N`), so one size's
peak resident set (VmHWM) is not hidden by another's. The findings are synthetic
(`benchmarks.synthetic`); the time covers `write_report` only, not building the findings.

    python -m benchmarks.report
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1_000, 10_000, 50_000)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: int) -> dict:
    """Render `size` synthetic deployments into a temporary directory; time, memory, sizes."""
    from audit.render import write_report
    from benchmarks.synthetic import synthetic_findings

    findings = synthetic_findings(size)
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        paths = write_report(findings, Path(directory))
        seconds = time.perf_counter() - started
        sizes = {name: path.stat().st_size for name, path in paths.items()}
    return {"deployments": size, "seconds": round(seconds, 2), "peak_rss_mb": round(_peak_rss_mb(), 1), "bytes": sizes}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        print(json.dumps(measure(int(argv[1]))))
        return 0
    sizes = [int(arg) for arg in argv] or list(SIZES)
    print(f"{'deployments':>11}  {'render s':>8}  {'peak RSS MB':>11}  {'PDF MB':>6}  {'HTML MB':>7}")
    for size in sizes:
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.report", "--one", str(size)], capture_output=True, text=True, check=True
        )
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"{row['deployments']:>11,}  {row['seconds']:>8.1f}  {row['peak_rss_mb']:>11.0f}  "
            f"{row['bytes']['report.pdf'] / 1e6:>6.1f}  {row['bytes']['report.html'] / 1e6:>7.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
