"""A handful of GitHub requests in flight, answers handed back in order to the one writer.

GitHub answers in 100-300 ms, so a sequential extraction spends nearly all its time
waiting. GitHub's REST best practices allow concurrent requests but count them towards
secondary limits ("make requests serially" for mutations; keep a handful in flight for reads),
so at most `workers` requests are in flight, and when any of them is told to wait
(`retry-after`, an exhausted budget) every worker waits with it (`SharedBackoff` in
`audit.extract.client`).

Artifact blobs come from storage, not from the API: they cost no rate budget and are
fetched on a pool of their own (`workers` threads more), so a worker hands the storage URL
its `/zip` request got to a blob thread and goes on with the next API request.

Only fetching is concurrent. Each worker thread has its own `GitHubClient` (PyGithub's
`Requester` keeps the request being made on a shared connection object, so it is not
thread-safe); the answers come back in the order asked, and the caller, the single SQLite
writer, stores them in that order. A run with `workers=1` makes the same requests one
after another and stores the same rows.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from audit.extract.client import GitHubClient

DEFAULT_WORKERS = 4
"""Requests in flight at most: a handful, far below GitHub's secondary limits (100 concurrent)."""

Item = TypeVar("Item")
Result = TypeVar("Result")
Fetched = TypeVar("Fetched")


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
        self._executors: dict[str, ThreadPoolExecutor] = {}
        """The API workers ("github") and the blob threads ("blobs"), started when first needed."""

    def _worker_client(self) -> GitHubClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.client.fork()
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def map(
        self, fetch: Callable[[GitHubClient, Item], Result], items: Iterable[Item], *, look_ahead: int | None = None
    ) -> Iterator[Result]:
        """`fetch(client, item)` for every item, results in the order of `items`.

        At most `look_ahead` (default `2 * workers`) answers are asked for and not consumed
        yet, so a quarter's artifacts never sit in memory at once. An exception is raised
        where its item's result would be (later fetches are cancelled), as it would be
        sequentially.
        """
        if self.workers == 1:
            for item in items:
                yield fetch(self.client, item)
            return
        api = self._executor_for("github")
        ahead = look_ahead or 2 * self.workers
        yield from self._in_order(lambda item: api.submit(self._on_worker, fetch, item), items, ahead)

    def map_then(
        self,
        fetch: Callable[[GitHubClient, Item], Fetched],
        then: Callable[[GitHubClient, Fetched], Result],
        items: Iterable[Item],
    ) -> Iterator[Result]:
        """`then(client, fetch(client, item))` for every item, results in the order of `items`,
        as `map`: `fetch` (API requests) on the workers, `then` (blob downloads) on the blob
        threads, so a worker is free for the next API request while a blob downloads."""
        if self.workers == 1:
            for item in items:
                yield then(self.client, fetch(self.client, item))
            return
        api, blobs = self._executor_for("github"), self._executor_for("blobs")

        def fetch_then_hand_over(client: GitHubClient, item: Item) -> Future[Result]:
            return blobs.submit(self._on_worker, then, fetch(client, item))

        # Both stages busy and the writer's next answer ready: 3 * workers items under way.
        handed_over = self._in_order(
            lambda item: api.submit(self._on_worker, fetch_then_hand_over, item), items, 3 * self.workers
        )
        try:
            for blob in handed_over:
                yield blob.result()
        finally:
            handed_over.close()

    def _on_worker(self, fetch: Callable[[GitHubClient, Item], Result], item: Item) -> Result:
        return fetch(self._worker_client(), item)

    def _in_order(
        self, submit: Callable[[Item], Future[Result]], items: Iterable[Item], look_ahead: int
    ) -> Generator[Result]:
        """The results of `submit(item)` in order, with at most `look_ahead` submitted and not consumed."""
        pending: deque[Future[Result]] = deque()
        try:
            for item in items:
                pending.append(submit(item))
                if len(pending) >= look_ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def _executor_for(self, pool: str) -> ThreadPoolExecutor:
        with self._lock:
            if pool not in self._executors:
                self._executors[pool] = ThreadPoolExecutor(self.workers, thread_name_prefix=pool)
            return self._executors[pool]

    def close(self) -> None:
        """Stop the workers and close their clients (the caller's own client stays open)."""
        with self._lock:
            executors, self._executors = self._executors, {}
        for pool in ("github", "blobs"):  # the API workers first: they hand work to the blob threads
            if pool in executors:
                executors[pool].shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
