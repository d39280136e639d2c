"""The extraction log: one row per query, saying what was asked and what it cost.

An auditor reconciles the population against it (which listings ran, how many rows each
gave, how many requests, what rate budget was left), so every request the capture makes
belongs to exactly one logged query. A query's cost is counted on the thread that made its
requests, so queries fetched side by side (`audit.extract.parallel`) are each charged only
their own; a fetch made on a worker thread returns a `Listed`, which the writer records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audit.capture_store import CaptureStore
from audit.extract.client import GitHubClient
from audit.store import now_utc, to_json


@dataclass(frozen=True)
class Started:
    """When a query began, and the calling thread's request count then: what the log row subtracts."""

    at: str
    requests: int


@dataclass(frozen=True)
class Listed:
    """Every item of one paginated listing, fetched on any thread, with what it cost."""

    items: list
    total_count: int | None
    """GitHub's `total_count`; None for listings whose pages are plain JSON lists."""
    started_at: str
    requests: int


class QueryLog:
    """Logs the queries of one extraction (`extraction_id`) into `extraction_log`."""

    def __init__(self, store: CaptureStore, client: GitHubClient):
        self.store = store
        self.client = client
        self.extraction_id = 0

    def begin(self) -> Started:
        return Started(now_utc(), self.client.counter.by_this_thread)

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
        requests: int | None = None,
    ) -> None:
        """Log a query begun on this thread (`started`); `requests` when another thread made them."""
        if requests is None:
            requests = self.client.counter.by_this_thread - started.requests
        self.store.log_query(
            {
                "extraction_id": self.extraction_id,
                "repository": repository,
                "query": query,
                "params": to_json(params),
                "started_at": started.at,
                "total_count": total_count,
                "rows": rows,
                "requests": requests,
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
        listed = self.fetch_listing(self.client, url, key=key, request_params=request_params)
        self.record_listed(repository, query, params, listed)
        return listed.items

    def fetch_listing(
        self, client: GitHubClient, url: str, *, key: str | None = None, request_params: dict | None = None
    ) -> Listed:
        """Every page of a listing through `client` (this thread's), not logged yet.

        A page that is not the documented list (null, an object without `key` …) raises
        `UnreadableAnswer`: read as no items, it would shrink what the listing says exists."""
        started = self.begin()
        items: list = []
        total_count = None
        for page in client.pages(url, request_params):
            items.extend(page.items(key))
            if key is not None:
                total_count = page.object().get("total_count", total_count)
        return Listed(items, total_count, started.at, client.counter.by_this_thread - started.requests)

    def record_listed(self, repository: str, query: str, params: dict, listed: Listed) -> None:
        """Log a listing fetched on any thread."""
        self.record(
            repository,
            query,
            params,
            Started(listed.started_at, 0),
            total_count=listed.total_count,
            rows=len(listed.items),
            requests=listed.requests,
        )
