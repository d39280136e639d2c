"""Every workflow run created in the quarter, listed in `created` windows under the cap.

GitHub returns at most 1,000 results for a filtered run listing while `total_count` says
how many there are; a window that reaches the cap is split in two until none does. A
window whose first page answers 304 to its stored ETag is unchanged and costs nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from audit.extract.rows import run_row
from audit.extract.session import CaptureSession, iso_z, parse_time
from audit.store import now_utc

RESULT_CAP = 1000
"""GitHub returns at most this many results for a filtered run listing."""


class RunWindowCollector:
    """The quarter's runs of one repository, window by window."""

    def __init__(self, session: CaptureSession):
        self.session = session
        self.store = session.store
        self.client = session.client

    def collect(self, repository: str) -> list[dict]:
        """List every run created in the quarter; one entry per window that was listed."""
        windows = []
        pending = [(self.session.start, self.session.end)]
        while pending:
            window_start, window_end = pending.pop(0)
            outcome = self._capture_window(repository, window_start, window_end)
            if outcome is None:  # over the cap: split and retry both halves
                middle = window_start + (window_end - window_start) / 2
                middle = middle.replace(microsecond=0)
                pending[:0] = [(window_start, middle), (middle, window_end)]
                continue
            windows.append(outcome)
        return windows

    def _capture_window(self, repository: str, window_start: datetime, window_end: datetime) -> dict | None:
        url = f"{self.client.repo_url(repository)}/actions/runs"
        params = {"created": f"{iso_z(window_start)}..{iso_z(window_end - timedelta(seconds=1))}"}
        key = {"repository": repository, "window_start": window_start.isoformat(), "window_end": window_end.isoformat()}
        previous = self.store.run_window(repository, key["window_start"], key["window_end"])
        log = self.session.log
        started = log.begin()
        query = "GET /repos/{owner}/{repo}/actions/runs"
        first = self.client.get(url, {**params, "per_page": 100}, etag=previous["etag"] if previous else None)
        if first.not_modified and previous is not None:  # a 304 answers the etag stored with `previous`
            log.record(repository, query, params, started, total_count=previous["total_count"], not_modified=True)
            return {**key, "total_count": previous["total_count"], "fetched": previous["fetched"], "not_modified": True}
        total_count = first.total_count()  # unreadable: stop rather than guess the window holds none
        if total_count >= RESULT_CAP and window_end - window_start > timedelta(seconds=2):
            log.record(repository, query, params, started, total_count=total_count)
            return None
        captured_at = now_utc()
        fetched = 0
        for page in self.client.pages(url, params, first=first):
            runs = page.items("workflow_runs")
            fetched += len(runs)
            self._store_runs(repository, runs, captured_at)
        log.record(repository, query, params, started, total_count=total_count, rows=fetched)
        window = {**key, "total_count": total_count, "fetched": fetched, "etag": first.etag, "captured_at": captured_at}
        self.store.save_run_window(window)
        return {**window, "not_modified": False}

    def _store_runs(self, repository: str, runs: list[dict], captured_at: str) -> None:
        """Store listed runs, keeping the evidence mark of a run that has not changed since."""
        existing = self.store.run_capture_states(repository, [run["id"] for run in runs])
        rows = []
        for run in runs:
            row = run_row(repository, run, captured_at)
            old = existing.get(run["id"])
            if (
                old
                and old["evidence_captured_at"]
                and (old["run_attempt"] == row["run_attempt"] and old["status"] == row["status"])
            ):
                row["evidence_captured_at"] = old["evidence_captured_at"]
            else:
                row["evidence_captured_at"] = None  # a re-run after capture: fetch again
            rows.append(row)
        self.store.save_runs(rows)

    def in_quarter(self, repository: str, run_ids: set[int]) -> list[dict]:
        """The stored runs among `run_ids` created in the quarter, oldest first."""
        return [
            row
            for row in self.store.runs(repository, run_ids)
            if (created := parse_time(row["created_at"])) is not None
            and self.session.start <= created < self.session.end
        ]
