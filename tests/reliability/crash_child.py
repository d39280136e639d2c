"""Run one extraction and SIGKILL ourselves right after the Nth write to a table.

    python -m tests.reliability.crash_child DB BASE_URL TABLE N

A deterministic crash point: no cleanup handler, finally block or atexit hook runs, just as
when the machine or the CI runner kills the job.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import audit.capture_store as capture_store
from tests.reliability.helpers import extract_quarter


def main(db_path: str, base_url: str, table: str, after: int) -> None:
    real = capture_store.upsert_all
    writes = 0

    def upsert_all(db, name, rows):
        nonlocal writes
        real(db, name, rows)
        if name == table:
            writes += 1
            if writes == after:
                os.kill(os.getpid(), signal.SIGKILL)

    capture_store.upsert_all = upsert_all
    extract_quarter(Path(db_path), base_url)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
