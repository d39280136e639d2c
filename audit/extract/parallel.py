"""A handful of GitHub requests in flight, answers handed back in order to the one writer.

GitHub answers in 100-300 ms, so a sequential extraction spends nearly all its time
waiting. GitHub's REST best practices allow concurrent requests but count them towards
secondary limits ("make requests serially" for mutations; keep a handful in flight for reads),
so at most `workers` requests are in flight, and when any of them is told to wait
(`retry-after`, an exhausted budget) every worker waits with it (`SharedBackoff` in
`audit.extract.client`).

Only fetching is concurrent. Each worker thread has its own `GitHubClient` (PyGithub's
`Requester` keeps the request being made on a shared connection object, so it is not
thread-safe); the answers come back in the order asked, and the caller, the single SQLite
writer, stores them in that order. A run with `workers=1` makes the same requests one
after another and stores the same rows.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from audit.extract.client import GitHubClient

DEFAULT_WORKERS = 4
"""Requests in flight at most: a handful, far below GitHub's secondary limits (100 concurrent)."""

Item = TypeVar("Item")
Result = TypeVar("Result")


class Fetcher:
    """Runs fetches for the writer: in order on `client` itself with one worker, else on a
    pool of `workers` threads, each with a client of its own that shares `client`'s request
    counter and backoff."""

    def __init__(self, client: GitHubClient, workers: int = DEFAULT_WORKERS) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.client = client
        self.workers = workers
        self._local = threading.local()
        self._clients: list[GitHubClient] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def _worker_client(self) -> GitHubClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.client.fork()
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def map(self, fetch: Callable[[GitHubClient, Item], Result], items: Iterable[Item]) -> Iterator[Result]:
        """`fetch(client, item)` for every item, results in the order of `items`.

        At most `2 * workers` answers wait to be consumed, so a quarter's artifacts never
        sit in memory at once. An exception is raised where its item's result would be
        (later fetches are cancelled), as it would be sequentially.
        """
        if self.workers == 1:
            for item in items:
                yield fetch(self.client, item)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="github")
        executor = self._executor
        pending: deque[Future[Result]] = deque()
        try:
            for item in items:
                pending.append(executor.submit(self._fetch_on_worker, fetch, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def _fetch_on_worker(self, fetch: Callable[[GitHubClient, Item], Result], item: Item) -> Result:
        return fetch(self._worker_client(), item)

    def close(self) -> None:
        """Stop the workers and close their clients (the caller's own client stays open)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
