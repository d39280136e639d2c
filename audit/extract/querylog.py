"""The extraction log: one row per query, saying what was asked and what it cost.

An auditor reconciles the population against it (which listings ran, how many rows each
gave, how many requests, what rate budget was left), so every request the capture makes
belongs to exactly one logged query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audit.capture_store import CaptureStore
from audit.extract.client import GitHubClient
from audit.store import now_utc, to_json


@dataclass(frozen=True)
class Started:
    """When a query began, and the request count then: what the log row subtracts."""

    at: str
    requests: int


class QueryLog:
    """Logs the queries of one extraction (`extraction_id`) into `extraction_log`."""

    def __init__(self, store: CaptureStore, client: GitHubClient):
        self.store = store
        self.client = client
        self.extraction_id = 0

    def begin(self) -> Started:
        return Started(now_utc(), self.client.counter.requests)

    def record(
        self,
        repository: str,
        query: str,
        params: dict,
        started: Started,
        *,
        total_count: int | None = None,
        rows: int = 0,
        not_modified: bool = False,
    ) -> None:
        self.store.log_query(
            {
                "extraction_id": self.extraction_id,
                "repository": repository,
                "query": query,
                "params": to_json(params),
                "started_at": started.at,
                "total_count": total_count,
                "rows": rows,
                "requests": self.client.counter.requests - started.requests,
                "rate_remaining": self.client.counter.rate_remaining,
                "not_modified": int(not_modified),
            }
        )

    def fetch(self, repository: str, query: str, params: dict, fetch: Callable[[], list]) -> list:
        """Run `fetch()`, which returns a list of GitHub objects, and log it as one query."""
        started = self.begin()
        items = fetch()
        self.record(repository, query, params, started, rows=len(items))
        return items

    def listing(
        self,
        repository: str,
        query: str,
        params: dict,
        url: str,
        *,
        key: str | None = None,
        request_params: dict | None = None,
    ) -> list:
        """Every item of a paginated listing, logged as one query.

        `key` names the list in an object answer (`{"total_count": n, key: [...]}`); without
        it each page is a JSON list, and GitHub gives no total.
        """
        started = self.begin()
        items: list = []
        total_count = None
        for page in self.client.pages(url, request_params):
            if key is None:
                items.extend(page.data or [])
            else:
                total_count = page.data.get("total_count", total_count)
                items.extend(page.data.get(key, []))
        self.record(repository, query, params, started, total_count=total_count, rows=len(items))
        return items
