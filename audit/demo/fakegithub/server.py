"""A fake GitHub REST API server on 127.0.0.1, serving a `World`.

It speaks the parts of GitHub's behaviour our extractor depends on:

- pagination with `per_page` (default 30, max 100) and `page`, and `Link` headers
  (rel prev/next/last/first, absolute URLs keeping the other query parameters);
- the 1,000-result cap of filtered workflow-run listings, while `total_count` is true;
- `ETag` on every 200 JSON response and `304` for a matching `If-None-Match`, which does
  not count against the rate limit;
- `x-ratelimit-*` headers; when the budget (`rate_limit` per `rate_limit_window`) is spent,
  403 with `x-ratelimit-remaining: 0`; `next_rate_window()` ends the window at once;
- artifact downloads: 302 to a blob URL that rejects an Authorization header, 410 when
  the artifact expired;
- `GET /repos/{o}/{r}/actions/artifacts`, every run's artifacts newest first;
- `POST /graphql` for the queries batched extraction makes (`audit.demo.fakegithub.graphql`),
  counted in the request log like any other request;
- injectable faults (`add_fault`): 5xx, 403/429 with `retry-after`, primary-limit
  exhaustion, slow responses; a token's missing permissions (`refuse`: REST 403 "Resource
  not accessible by integration"; `graphql_faults`: `FORBIDDEN` fields, `NOT_FOUND` runs);
- GitHub's distance: `latency_ms` before every answer (GitHub takes about 100-300 ms) and
  `blob_bytes_per_second` for artifact blob downloads, so wall time under real latency can
  be measured (`make bench`, `python -m audit.demo.fakegithub --latency-ms 150`).

Usage::

    with FakeGitHub(world) as server:
        gh = github.Github(base_url=server.base_url)
        ...
        assert server.request_count("/repos/acme/app/actions/runs") == 3
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from audit.demo.fakegithub import render
from audit.demo.fakegithub.graphql import FORBIDDEN_MESSAGE, GraphQLFaults
from audit.demo.fakegithub.graphql import execute as execute_graphql
from audit.demo.fakegithub.world import Repository, WorkflowRun, World

DOCS = "https://docs.github.com/rest"
RESULT_CAP = 1000
"""Filtered workflow-run listings return at most this many results (GitHub's search cap)."""
RUN_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
"""Query parameters that turn a run listing into a capped search."""
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
PRIMARY_RATE_LIMIT_MESSAGE = "API rate limit exceeded. (But here's the good news: ...)"


@dataclass(frozen=True)
class GitHubApp:
    """A GitHub App for the fake server: its id, its public key, and how long tokens live."""

    app_id: int
    public_key_pem: str
    installation_id: int = 4242
    token_lifetime: float = 3600.0
    """Seconds an installation token is accepted (GitHub: one hour)."""


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered."""

    method: str
    path: str
    """The URL path, percent-decoded, without the query."""
    query: dict[str, str]
    status: int
    if_none_match: bool
    """Whether the request carried an `If-None-Match` header."""
    blob: bool = False
    """A download from the artifact blob store (the target of a 302)."""
    fault: bool = False
    """Whether an injected fault produced (or delayed) the response."""


@dataclass
class Fault:
    """An injected failure: requests whose path matches `pattern` get `status` (+ headers).

    `status=None` only delays (`delay` seconds) and then answers normally. `times=None`
    fires forever; `probability` fires on that fraction of matching requests (seeded).
    """

    pattern: re.Pattern[str]
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    probability: float | None = None
    delay: float | None = None
    body: Any = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    fired: int = 0

    def matches(self, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if not self.pattern.search(path):
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        return True


class HttpError(Exception):
    """Raised by a route to answer with a GitHub error body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class _Response:
    status: int
    body: Any = None
    """JSON-serialisable body, or bytes for raw content."""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    link_query: tuple[dict[str, str], int, int] | None = None
    """(query, page, last_page) for the Link header."""


class FakeGitHub:
    """A GitHub REST API fake serving `world` on 127.0.0.1 (ephemeral port)."""

    def __init__(
        self,
        world: World,
        *,
        token: str | None = None,
        rate_limit: int = 5000,
        rate_limit_window: float = 3600.0,
        graphql: bool = True,
        latency_ms: float = 0.0,
        blob_bytes_per_second: float | None = None,
        app: GitHubApp | None = None,
    ) -> None:
        self.world = world
        self.latency = latency_ms / 1000
        """Seconds every request waits before it is answered (each connection on its own thread,
        so concurrent requests wait side by side, as they would at GitHub)."""
        self.blob_bytes_per_second = blob_bytes_per_second
        """Bandwidth of one blob download; None: unlimited."""
        self.token = token
        self.graphql = graphql
        """Serve `POST /graphql`; False answers 404 there, like a GitHub without GraphQL."""
        self.graphql_faults = GraphQLFaults()
        """Fields GraphQL refuses (`FORBIDDEN`) and runs it cannot resolve (`NOT_FOUND`)."""
        self.rate_limit = rate_limit
        self.rate_limit_window = rate_limit_window
        self.app = app
        """A GitHub App installed on the world's owners: its JWT mints installation tokens."""
        self._installation_tokens: dict[str, float] = {}
        self.installation_tokens_minted = 0
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._in_flight = {"api": 0, "blobs": 0, "all": 0}
        self.most_in_flight = dict(self._in_flight)
        """The most API requests, blob downloads and both the server was answering at once."""
        self._faults: list[Fault] = []
        self._blobs: dict[str, int] = {}
        self._rate_used = 0
        self._rate_reset = 0.0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeGitHub:
        """Listen on 127.0.0.1:0 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-github",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake GitHub server is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- request log

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def request_count(self, prefix: str | None = None, include_blobs: bool = False) -> int:
        """Requests whose path starts with `prefix` (all if None); blob downloads excluded
        unless `include_blobs`."""
        with self._lock:
            return sum(
                1
                for record in self._requests
                if (include_blobs or not record.blob) and (prefix is None or record.path.startswith(prefix))
            )

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self.most_in_flight = {kind: 0 for kind in self.most_in_flight}

    # ---------------------------------------------------------------- faults

    def add_fault(
        self,
        path_regex: str,
        status: int | None,
        *,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        probability: float | None = None,
        delay: float | None = None,
        seed: int = 0,
        body: Any = None,
    ) -> Fault:
        """Inject a failure for requests whose path matches `path_regex` (`re.search`).

        Examples::

            server.add_fault(r"/actions/runs$", 502)                         # one 502
            server.add_fault(r"/jobs$", 403, headers={"retry-after": "1"})   # secondary limit
            server.add_fault(r"/deployments", 429, headers={"retry-after": "1"}, times=2)
            server.add_fault(r"/statuses$", 503, times=None, probability=0.2, seed=7)
            server.add_fault(r"/approvals$", None, delay=0.5)                # slow response
            server.exhaust_rate_limit(r"/actions/runs", reset_in=1)          # primary limit

        A 403/429 without a body gets GitHub's rate-limit message; other statuses a
        basic-error body. Faults are checked in the order they were added.
        """
        if body is None and status is not None:
            if status in (403, 429) and headers and "retry-after" in {h.lower() for h in headers}:
                body = render.basic_error(SECONDARY_RATE_LIMIT_MESSAGE, DOCS)
            elif status in (403, 429):
                body = render.basic_error(PRIMARY_RATE_LIMIT_MESSAGE, DOCS)
            else:
                body = render.basic_error("Server Error" if status >= 500 else "Fault", DOCS)
        fault = Fault(
            pattern=re.compile(path_regex),
            status=status,
            headers=dict(headers or {}),
            times=times,
            probability=probability,
            delay=delay,
            body=body,
            rng=random.Random(seed),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def exhaust_rate_limit(self, path_regex: str, *, reset_in: float = 1.0, times: int = 1) -> Fault:
        """A primary rate-limit exhaustion: 403 with `x-ratelimit-remaining: 0` and a reset
        `reset_in` seconds from now (rounded up to a whole epoch second, as GitHub sends it)."""
        reset = int(time.time() + reset_in) + 1
        return self.add_fault(
            path_regex,
            403,
            headers={
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": str(self.rate_limit),
                "x-ratelimit-reset": str(reset),
            },
            times=times,
        )

    def refuse(self, path_regex: str, permission: str) -> Fault:
        """Answer 403 "Resource not accessible by integration" to every matching request, as
        GitHub answers a token without `permission`, which it names in the
        `x-accepted-github-permissions` header (e.g. `actions=read`)."""
        return self.add_fault(
            path_regex,
            403,
            times=None,
            headers={"x-accepted-github-permissions": permission},
            body=render.basic_error(FORBIDDEN_MESSAGE, DOCS, 403),
        )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.graphql_faults = GraphQLFaults()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    if fault.times is not None:
                        fault.times -= 1
                    fault.fired += 1
                    return fault
        return None

    # ---------------------------------------------------------------- rate limit

    def next_rate_window(self) -> None:
        """Let the rate window end now, as if its hour had passed: a shortened clock for tests
        of capture across runs under a budget (`rate_limit`) without waiting an hour."""
        with self._lock:
            self._rate_reset = 0.0

    def _rate_headers(self, charge: bool) -> tuple[dict[str, str], bool]:
        """Rate-limit headers, charging one request if `charge`; second value: exhausted."""
        with self._lock:
            now = time.time()
            if now >= self._rate_reset:
                self._rate_used = 0
                self._rate_reset = now + self.rate_limit_window
            exhausted = charge and self._rate_used >= self.rate_limit
            if charge and not exhausted:
                self._rate_used += 1
            used = self._rate_used
            reset = int(self._rate_reset)
        return (
            {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(self.rate_limit - used, 0)),
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-used": str(used),
                "x-ratelimit-resource": "core",
            },
            exhausted,
        )

    # ---------------------------------------------------------------- dispatch

    def _handle(self, handler: _Handler) -> None:
        """Answer one request, counting the requests being answered at the same time."""
        kind = "blobs" if urlsplit(handler.path).path.startswith("/_blobs/") else "api"
        with self._lock:
            for counted in (kind, "all"):
                self._in_flight[counted] += 1
                self.most_in_flight[counted] = max(self.most_in_flight[counted], self._in_flight[counted])
        try:
            self._answer(handler)
        finally:
            with self._lock:
                self._in_flight[kind] -= 1
                self._in_flight["all"] -= 1

    def _answer(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path)
        raw_path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if_none_match = handler.headers.get("If-None-Match")
        is_blob = path.startswith("/_blobs/")
        # Read a request body first, so a keep-alive connection stays in step whatever we answer.
        length = int(handler.headers.get("Content-Length") or 0)
        request_body = handler.rfile.read(length) if length > 0 else b""
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)

        def log(status: int) -> None:
            # Logged before the response is written, so a client that waits for each
            # response sees the log in its own request order.
            record = RequestRecord(
                method=handler.command,
                path=path,
                query=query,
                status=status,
                if_none_match=if_none_match is not None,
                blob=is_blob,
                fault=fault is not None,
            )
            with self._lock:
                self._requests.append(record)

        if fault is not None and fault.status is not None:
            rate, _ = self._rate_headers(charge=False)
            rate.update(fault.headers)
            self._send(handler, _Response(fault.status, fault.body, rate), log=log)
            return
        response = self._dispatch(handler, path, raw_path, query, is_blob, request_body)
        self._send(handler, response, if_none_match=if_none_match, log=log)

    def _dispatch(
        self,
        handler: _Handler,
        path: str,
        raw_path: str,
        query: dict[str, str],
        is_blob: bool,
        request_body: bytes = b"",
    ) -> _Response:
        if is_blob:
            return self._blob(handler, path)
        if self.app is not None and (path.startswith("/app/") or path.endswith("/installation")):
            return self._app_route(handler, path)
        if (self.token is not None or self.app is not None) and not self._authorized(handler):
            rate, _ = self._rate_headers(charge=False)
            return _Response(401, render.basic_error("Bad credentials", DOCS, 401), rate)
        free = path.rstrip("/") == "/rate_limit"
        rate, exhausted = self._rate_headers(charge=not free)
        if exhausted:
            return _Response(403, render.basic_error(PRIMARY_RATE_LIMIT_MESSAGE, DOCS, 403), rate)
        try:
            if handler.command == "POST" and path.rstrip("/") == "/graphql" and self.graphql:
                response = self._graphql(request_body)
            elif handler.command != "GET":
                raise HttpError(404, "Not Found")
            else:
                response = self._route(path.rstrip("/") or "/", raw_path, query)
        except HttpError as error:
            response = _Response(
                error.status,
                render.basic_error(error.message, DOCS, error.status),
                dict(error.headers),
            )
        response.headers = {**rate, **response.headers}
        return response

    def _authorized(self, handler: _Handler) -> bool:
        header = handler.headers.get("Authorization", "")
        if self.token is not None and header in (f"token {self.token}", f"Bearer {self.token}"):
            return True
        token = header.split(" ", 1)[-1]
        with self._lock:
            expires = self._installation_tokens.get(token)
        return expires is not None and time.time() < expires

    # ---------------------------------------------------------------- GitHub App

    def _app_route(self, handler: _Handler, path: str) -> _Response:
        """`GET /repos/{o}/{r}/installation`, `GET /orgs/{org}/installation` and
        `POST /app/installations/{id}/access_tokens`, authenticated by the App's JWT (RS256)."""
        import jwt

        assert self.app is not None
        header = handler.headers.get("Authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), self.app.public_key_pem, algorithms=["RS256"])
        except jwt.PyJWTError:
            return _Response(401, render.basic_error("A JSON web token could not be decoded", DOCS, 401))
        if str(claims.get("iss")) != str(self.app.app_id):
            return _Response(401, render.basic_error("Integration not found", DOCS, 401))
        installation = {"id": self.app.installation_id, "app_id": self.app.app_id, "target_type": "Organization"}
        if handler.command == "GET" and path.endswith("/installation"):
            return _Response(200, installation)
        if handler.command == "POST" and path == f"/app/installations/{self.app.installation_id}/access_tokens":
            token = "ghs_" + secrets.token_hex(18)
            expires = time.time() + self.app.token_lifetime
            with self._lock:
                self._installation_tokens[token] = expires
                self.installation_tokens_minted += 1
            expires_at = datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return _Response(201, {"token": token, "expires_at": expires_at, "permissions": {}})
        return _Response(404, render.basic_error("Not Found", DOCS, 404))

    def _send(
        self,
        handler: _Handler,
        response: _Response,
        *,
        log: Callable[[int], None],
        if_none_match: str | None = None,
    ) -> None:
        headers = dict(response.headers)
        status = response.status
        body: bytes
        if isinstance(response.body, bytes):
            body = response.body
        elif response.body is None:
            body = b""
        else:
            body = json.dumps(response.body, separators=(",", ":")).encode()
        if response.link_query is not None:
            link = self._link_header(handler, *response.link_query)
            if link:
                headers["Link"] = link
        if status == 200 and handler.command == "GET" and response.content_type.startswith("application/json"):
            # Hash the content without our ephemeral port: GitHub's ETag for unchanged
            # content is stable, and a restarted demo server must answer 304 the same way.
            stable = body.replace(self.base_url.encode(), b"{base_url}")
            etag = 'W/"' + hashlib.sha256(stable).hexdigest()[:40] + '"'
            headers["ETag"] = etag
            if if_none_match and _etag_matches(if_none_match, etag):
                status = 304
                body = b""
                # A 304 costs nothing: give back the request charged in _dispatch.
                with self._lock:
                    self._rate_used = max(self._rate_used - 1, 0)
                    used = self._rate_used
                headers["x-ratelimit-used"] = str(used)
                headers["x-ratelimit-remaining"] = str(max(self.rate_limit - used, 0))
        log(status)
        handler.send_response(status)
        if status != 304 and status != 302:
            handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        handler.send_header("X-GitHub-Request-Id", secrets.token_hex(8).upper())
        if status == 200:
            handler.send_header("Cache-Control", "private, max-age=60, s-maxage=60")
            handler.send_header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if body and handler.command != "HEAD":
            handler.wfile.write(body)

    def _link_header(self, handler: _Handler, query: dict[str, str], page: int, last: int) -> str | None:
        if last <= 1 and page <= 1:
            return None
        path = urlsplit(handler.path).path

        def url(number: int) -> str:
            params = dict(query)
            params["page"] = str(number)
            return f"{self.base_url}{path}?{urlencode(params)}"

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, max(last, 1)))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        return ", ".join(links) or None

    # ---------------------------------------------------------------- routes

    def _build_routes(self) -> list[tuple[re.Pattern[str], Callable[..., _Response]]]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        table: list[tuple[str, Callable[..., _Response]]] = [
            (r"/rate_limit", self._rate_limit),
            (r"/orgs/(?P<org>[^/]+)/repos", self._org_repos),
            (r"/orgs/(?P<org>[^/]+)/audit-log", self._audit_log),
            (repo, self._repository),
            (repo + r"/actions/runs", self._runs),
            (repo + r"/actions/workflows", self._workflows),
            (repo + r"/actions/workflows/(?P<workflow>[^/]+)", self._workflow),
            (repo + r"/actions/workflows/(?P<workflow>[^/]+)/runs", self._runs),
            (repo + r"/actions/runs/(?P<run_id>\d+)", self._run),
            (repo + r"/actions/runs/(?P<run_id>\d+)/jobs", self._jobs),
            (repo + r"/actions/runs/(?P<run_id>\d+)/approvals", self._approvals),
            (repo + r"/actions/runs/(?P<run_id>\d+)/pending_deployments", self._pending),
            (repo + r"/actions/runs/(?P<run_id>\d+)/artifacts", self._run_artifacts),
            (repo + r"/actions/artifacts", self._repo_artifacts),
            (repo + r"/actions/artifacts/(?P<artifact_id>\d+)", self._artifact),
            (repo + r"/actions/artifacts/(?P<artifact_id>\d+)/(?P<fmt>[^/]+)", self._download),
            (repo + r"/deployments", self._deployments),
            (repo + r"/deployments/(?P<deployment_id>\d+)", self._deployment),
            (repo + r"/deployments/(?P<deployment_id>\d+)/statuses", self._statuses),
            (repo + r"/environments", self._environments),
            (repo + r"/environments/(?P<environment>[^/]+)", self._environment),
            (repo + r"/commits/(?P<sha>[^/]+)/pulls", self._commit_pulls),
            (repo + r"/pulls/(?P<number>\d+)", self._pull),
            (repo + r"/pulls/(?P<number>\d+)/reviews", self._reviews),
            (repo + r"/check-suites/(?P<suite_id>\d+)/check-runs", self._check_runs),
            (repo + r"/code-scanning/analyses", self._code_scanning),
            (repo + r"/branches/(?P<branch>.+)/protection", self._branch_protection),
            (repo + r"/rules/branches/(?P<branch>.+)", self._branch_rules),
        ]
        return [(re.compile(pattern + "$"), method) for pattern, method in table]

    def _route(self, path: str, raw_path: str, query: dict[str, str]) -> _Response:
        for pattern, method in self._routes:
            # Match on the raw path so an encoded `/` (%2F) stays inside one segment.
            match = pattern.match(raw_path.rstrip("/"))
            if match:
                params = {key: unquote(value) for key, value in match.groupdict().items()}
                return method(query=query, **params)
        raise HttpError(404, "Not Found")

    def _repo(self, owner: str, repo: str) -> Repository:
        found = self.world.repository(owner, repo)
        if found is None:
            raise HttpError(404, "Not Found")
        return found

    def _run_of(self, owner: str, repo: str, run_id: str) -> WorkflowRun:
        repository = self._repo(owner, repo)
        run = repository.runs.get(int(run_id))
        if run is None:
            raise HttpError(404, "Not Found")
        return run

    def _paginate(
        self,
        items: list[Any],
        query: dict[str, str],
        *,
        cap: int | None = None,
    ) -> tuple[list[Any], tuple[dict[str, str], int, int]]:
        per_page = _int(query.get("per_page"), 30, minimum=1, maximum=100)
        page = _int(query.get("page"), 1, minimum=1)
        visible = len(items) if cap is None else min(len(items), cap)
        last = max((visible + per_page - 1) // per_page, 1)
        start = (page - 1) * per_page
        end = min(start + per_page, visible)
        return items[start:end] if start < visible else [], (query, page, last)

    def _list(
        self,
        items: list[Any],
        query: dict[str, str],
        render_item: Callable[[Any], Any],
        *,
        key: str | None = None,
        cap: int | None = None,
    ) -> _Response:
        page_items, link = self._paginate(items, query, cap=cap)
        rendered = [render_item(item) for item in page_items]
        body: Any = rendered if key is None else {"total_count": len(items), key: rendered}
        return _Response(200, body, link_query=link)

    # -- individual endpoints

    def _rate_limit(self, query: dict[str, str]) -> _Response:
        with self._lock:
            used, reset = self._rate_used, int(self._rate_reset)
        return _Response(200, render.rate_limit(self.rate_limit, used, reset))

    def _org_repos(self, query: dict[str, str], org: str) -> _Response:
        repos = [r for r in self.world.repositories.values() if r.owner.lower() == org.lower()]
        if not repos and org.lower() != self.world.organization.lower():
            raise HttpError(404, "Not Found")
        repos.sort(key=lambda r: r.full_name.lower())
        return self._list(repos, query, lambda r: render.repository(r, self.base_url))

    def _repository(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        return _Response(200, render.repository(self._repo(owner, repo), self.base_url))

    def _runs(self, query: dict[str, str], owner: str, repo: str, workflow: str | None = None) -> _Response:
        repository = self._repo(owner, repo)
        runs: Iterable[WorkflowRun] = repository.runs_newest_first()
        if workflow is not None:
            found = repository.find_workflow(workflow)
            if found is None:
                raise HttpError(404, "Not Found")
            runs = [r for r in runs if r.workflow is found]
        runs = _filter_runs(runs, query)
        filtered = any(query.get(name) for name in RUN_FILTERS)
        exclude = query.get("exclude_pull_requests", "").lower() == "true"
        return self._list(
            runs,
            query,
            lambda r: render.workflow_run(r, self.base_url, exclude_pull_requests=exclude),
            key="workflow_runs",
            cap=RESULT_CAP if filtered else None,
        )

    def _workflows(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        repository = self._repo(owner, repo)
        return self._list(
            list(repository.workflows.values()),
            query,
            lambda w: _workflow_json(repository, w, self.base_url),
            key="workflows",
        )

    def _workflow(self, query: dict[str, str], owner: str, repo: str, workflow: str) -> _Response:
        repository = self._repo(owner, repo)
        found = repository.find_workflow(workflow)
        if found is None:
            raise HttpError(404, "Not Found")
        return _Response(200, _workflow_json(repository, found, self.base_url))

    def _run(self, query: dict[str, str], owner: str, repo: str, run_id: str) -> _Response:
        return _Response(200, render.workflow_run(self._run_of(owner, repo, run_id), self.base_url))

    def _jobs(self, query: dict[str, str], owner: str, repo: str, run_id: str) -> _Response:
        run = self._run_of(owner, repo, run_id)
        which = query.get("filter", "latest")
        if which not in ("latest", "all"):
            raise HttpError(422, "Validation Failed")
        jobs = run.jobs if which == "all" else run.jobs_of_attempt()
        jobs = sorted(jobs, key=lambda j: (j.run_attempt, j.id))
        return self._list(jobs, query, lambda j: render.job(run, j, self.base_url), key="jobs")

    def _approvals(self, query: dict[str, str], owner: str, repo: str, run_id: str) -> _Response:
        run = self._run_of(owner, repo, run_id)
        return _Response(200, [render.approval(run.repository, a, self.base_url) for a in run.approvals])

    def _pending(self, query: dict[str, str], owner: str, repo: str, run_id: str) -> _Response:
        run = self._run_of(owner, repo, run_id)
        body = []
        if run.status == "waiting":
            for name in run.pending_environments:
                env = run.repository.environments.get(name)
                if env is not None:
                    body.append(render.pending_deployment(run, env, self.base_url))
        return _Response(200, body)

    def _run_artifacts(self, query: dict[str, str], owner: str, repo: str, run_id: str) -> _Response:
        run = self._run_of(owner, repo, run_id)
        artifacts = list(run.artifacts)
        if query.get("name"):
            artifacts = [a for a in artifacts if a.name == query["name"]]
        artifacts.sort(key=lambda a: a.id, reverse=query.get("direction", "desc") != "asc")
        as_of = self.world.as_of
        return self._list(
            artifacts,
            query,
            lambda a: render.artifact(run.repository, run, a, as_of, self.base_url),
            key="artifacts",
        )

    def _repo_artifacts(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        """`GET /repos/{o}/{r}/actions/artifacts`: every run's artifacts, newest first."""
        repository = self._repo(owner, repo)
        artifacts = [(run, artifact) for run in repository.runs.values() for artifact in run.artifacts]
        if query.get("name"):
            artifacts = [(r, a) for r, a in artifacts if a.name == query["name"]]
        artifacts.sort(key=lambda pair: (pair[1].created_at, pair[1].id), reverse=True)
        as_of = self.world.as_of
        return self._list(
            artifacts,
            query,
            lambda pair: render.artifact(repository, pair[0], pair[1], as_of, self.base_url),
            key="artifacts",
        )

    def _graphql(self, request_body: bytes) -> _Response:
        try:
            body = json.loads(request_body or b"null")
        except ValueError:
            raise HttpError(400, "Problems parsing JSON") from None
        return _Response(200, execute_graphql(self.world, body, self.graphql_faults))

    def _artifact_of(self, owner: str, repo: str, artifact_id: str):
        repository = self._repo(owner, repo)
        entry = self.world.artifacts.get(int(artifact_id))
        if entry is None or entry[0] is not repository:
            raise HttpError(404, "Not Found")
        return repository, entry[1]

    def _artifact(self, query: dict[str, str], owner: str, repo: str, artifact_id: str) -> _Response:
        repository, artifact = self._artifact_of(owner, repo, artifact_id)
        run = repository.runs[artifact.run_id]
        return _Response(
            200,
            render.artifact(repository, run, artifact, self.world.as_of, self.base_url),
        )

    def _download(self, query: dict[str, str], owner: str, repo: str, artifact_id: str, fmt: str) -> _Response:
        if fmt != "zip":
            raise HttpError(404, "Not Found")
        _, artifact = self._artifact_of(owner, repo, artifact_id)
        if artifact.is_expired(self.world.as_of):
            raise HttpError(410, "Artifact has expired")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._blobs[token] = artifact.id
        return _Response(302, None, {"Location": f"{self.base_url}/_blobs/{token}"}, content_type="")

    def _blob(self, handler: _Handler, path: str) -> _Response:
        # Like the signed blob-storage URL GitHub redirects to: it rejects a second form of
        # authentication, which is why clients must not forward the token on the redirect.
        if handler.headers.get("Authorization"):
            return _Response(
                400,
                b'<?xml version="1.0"?><Error><Code>InvalidAuthenticationInfo</Code>'
                b"<Message>Authentication information is not given in the correct format."
                b"</Message></Error>",
                content_type="application/xml",
            )
        with self._lock:
            artifact_id = self._blobs.get(path.rsplit("/", 1)[-1])
        if artifact_id is None:
            return _Response(404, b"BlobNotFound", content_type="text/plain")
        _, artifact = self.world.artifacts[artifact_id]
        data = artifact.data
        if self.blob_bytes_per_second:
            time.sleep(len(data) / self.blob_bytes_per_second)
        return _Response(200, data, content_type="application/zip")

    def _deployments(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        repository = self._repo(owner, repo)
        deployments = repository.deployments
        for name in ("sha", "ref", "task", "environment"):
            wanted = query.get(name)
            if wanted and wanted != "none":
                deployments = [d for d in deployments if getattr(d, name) == wanted]
        deployments = sorted(deployments, key=lambda d: (d.created_at, d.id), reverse=True)
        return self._list(deployments, query, lambda d: render.deployment(repository, d, self.base_url))

    def _deployment_of(self, owner: str, repo: str, deployment_id: str):
        repository = self._repo(owner, repo)
        for deployment in repository.deployments:
            if deployment.id == int(deployment_id):
                return repository, deployment
        raise HttpError(404, "Not Found")

    def _deployment(self, query: dict[str, str], owner: str, repo: str, deployment_id: str) -> _Response:
        repository, deployment = self._deployment_of(owner, repo, deployment_id)
        return _Response(200, render.deployment(repository, deployment, self.base_url))

    def _statuses(self, query: dict[str, str], owner: str, repo: str, deployment_id: str) -> _Response:
        repository, deployment = self._deployment_of(owner, repo, deployment_id)
        statuses = []
        if self.world.statuses_retained(deployment):
            statuses = sorted(deployment.statuses, key=lambda s: (s.created_at, s.id), reverse=True)
        return self._list(
            statuses,
            query,
            lambda s: render.deployment_status(repository, deployment, s, self.base_url),
        )

    def _environments(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        repository = self._repo(owner, repo)
        environments = sorted(repository.environments.values(), key=lambda e: e.name)
        return self._list(
            environments,
            query,
            lambda e: render.environment(repository, e, self.base_url),
            key="environments",
        )

    def _environment(self, query: dict[str, str], owner: str, repo: str, environment: str) -> _Response:
        repository = self._repo(owner, repo)
        env = repository.environments.get(environment)
        if env is None:
            raise HttpError(404, "Not Found")
        return _Response(200, render.environment(repository, env, self.base_url))

    def _commit_pulls(self, query: dict[str, str], owner: str, repo: str, sha: str) -> _Response:
        repository = self._repo(owner, repo)
        pulls = repository.pulls_for_commit(sha)
        return self._list(pulls, query, lambda p: render.pull_request(repository, p, self.base_url))

    def _pull(self, query: dict[str, str], owner: str, repo: str, number: str) -> _Response:
        repository = self._repo(owner, repo)
        pull = repository.pulls.get(int(number))
        if pull is None:
            raise HttpError(404, "Not Found")
        return _Response(200, render.pull_request_full(repository, pull, self.base_url))

    def _reviews(self, query: dict[str, str], owner: str, repo: str, number: str) -> _Response:
        repository = self._repo(owner, repo)
        pull = repository.pulls.get(int(number))
        if pull is None:
            raise HttpError(404, "Not Found")
        return self._list(pull.reviews, query, lambda r: render.review(repository, pull, r, self.base_url))

    def _check_runs(self, query: dict[str, str], owner: str, repo: str, suite_id: str) -> _Response:
        repository = self._repo(owner, repo)
        run = next((r for r in repository.runs.values() if r.check_suite_id == int(suite_id)), None)
        if run is None:
            raise HttpError(404, "Not Found")
        jobs = run.jobs if query.get("filter") == "all" else run.jobs_of_attempt()
        if query.get("check_name"):
            jobs = [j for j in jobs if j.name == query["check_name"]]
        if query.get("status"):
            jobs = [j for j in jobs if j.status == query["status"]]
        return self._list(jobs, query, lambda j: render.check_run(run, j, self.base_url), key="check_runs")

    def _branch_protection(self, query: dict[str, str], owner: str, repo: str, branch: str) -> _Response:
        repository = self._repo(owner, repo)
        if branch != repository.default_branch or repository.branch_protection is None:
            raise HttpError(404, "Branch not protected")
        return _Response(200, render.branch_protection(repository, self.base_url))

    def _branch_rules(self, query: dict[str, str], owner: str, repo: str, branch: str) -> _Response:
        repository = self._repo(owner, repo)
        rules = repository.branch_rules if branch == repository.default_branch else []
        return self._list(rules, query, lambda rule: rule)

    def _audit_log(self, query: dict[str, str], org: str) -> _Response:
        # Enterprise Cloud only; elsewhere GitHub answers 404.
        if org.lower() != self.world.organization.lower() or self.world.audit_log is None:
            raise HttpError(404, "Not Found")
        since = re.search(r"created:>=(\S+)", query.get("phrase", ""))
        action = re.search(r"action:(\S+)", query.get("phrase", ""))
        events = [
            event
            for event in self.world.audit_log
            if event["@timestamp"] <= self.world.as_of.timestamp() * 1000
            and (
                action is None
                or event["action"] in (action.group(1),)
                or event["action"].startswith(action.group(1) + ".")
            )
            and (since is None or event["created_at"] >= _moment(since.group(1), end=False).timestamp() * 1000)
        ]
        newest_first = sorted(events, key=lambda e: e["@timestamp"], reverse=True)
        return self._list(newest_first, query, lambda event: event)

    def _code_scanning(self, query: dict[str, str], owner: str, repo: str) -> _Response:
        repository = self._repo(owner, repo)
        if not repository.code_scanning.enabled:
            raise HttpError(403, "Advanced Security must be enabled for this repository to use code scanning.")
        analyses = list(repository.code_scanning.analyses)
        if query.get("ref"):
            ref = query["ref"]
            ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
            analyses = [a for a in analyses if a.get("ref") == ref]
        return self._list(
            analyses,
            query,
            lambda a: render.code_scanning_analysis(repository, a, self.base_url),
        )


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the owning `FakeGitHub` (set as class attribute `app`)."""

    app: FakeGitHub
    protocol_version = "HTTP/1.1"
    # Keep-alive clients (PyGithub, requests) otherwise wait ~40 ms per request on
    # Nagle's algorithm meeting delayed ACKs: headers and body go out as two writes.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "GitHub.com"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.app._handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the per-request stderr line; the request log is `FakeGitHub.requests`."""


# -------------------------------------------------------------------- helpers


def _int(text: str | None, default: int, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text) if text not in (None, "") else default
    except ValueError:
        value = default
    value = max(value, minimum)
    return min(value, maximum) if maximum is not None else value


def _etag_matches(header: str, etag: str) -> bool:
    def bare(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    return any(bare(candidate) == bare(etag) for candidate in header.split(","))


def _workflow_json(repository: Repository, workflow: Any, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{repository.full_name}"
    return {
        "id": workflow.id,
        "node_id": render.node_id("Workflow", workflow.id),
        "name": workflow.name,
        "path": workflow.path,
        "state": "active",
        "created_at": render.iso(repository.created_at),
        "updated_at": render.iso(repository.created_at),
        "url": f"{api}/actions/workflows/{workflow.id}",
        "html_url": f"https://github.com/{repository.full_name}/blob/{repository.default_branch}/{workflow.path}",
        "badge_url": f"https://github.com/{repository.full_name}/workflows/{workflow.name}/badge.svg",
    }


def parse_created(expression: str) -> tuple[datetime | None, datetime | None, bool, bool]:
    """Parse GitHub's `created` search syntax into (low, high, low_inclusive, high_inclusive).

    Supports `A..B` (either side may be `*`), `>=A`, `<=A`, `>A`, `<A` and a bare `A`, with
    dates (`2024-04-01`, a whole day) or date-times (`2024-04-01T00:00:00Z`).
    """
    text = expression.strip().replace(" ", "+")
    if ".." in text:
        low_text, high_text = text.split("..", 1)
        low = None if low_text in ("", "*") else _moment(low_text, end=False)
        high = None if high_text in ("", "*") else _moment(high_text, end=True)
        return low, high, True, True
    for operator in (">=", "<=", ">", "<"):
        if text.startswith(operator):
            value = text[len(operator) :]
            if operator == ">=":
                return _moment(value, end=False), None, True, True
            if operator == ">":
                return _moment(value, end=True), None, False, True
            if operator == "<=":
                return None, _moment(value, end=True), True, True
            return None, _moment(value, end=False), True, False
    return _moment(text, end=False), _moment(text, end=True), True, True


def _moment(text: str, *, end: bool) -> datetime:
    """A date-time; a bare date means its first (or, with `end`, last) second, in UTC."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1, seconds=-1) if end else day
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise HttpError(422, f"Invalid created value: {text}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filter_runs(runs: Iterable[WorkflowRun], query: dict[str, str]) -> list[WorkflowRun]:
    result = list(runs)
    if query.get("created"):
        low, high, low_inclusive, high_inclusive = parse_created(query["created"])

        def inside(run: WorkflowRun) -> bool:
            created = run.created_at
            if low is not None and (created < low or (created == low and not low_inclusive)):
                return False
            if high is not None and (created > high or (created == high and not high_inclusive)):
                return False
            return True

        result = [r for r in result if inside(r)]
    if query.get("branch"):
        result = [r for r in result if r.head_branch == query["branch"]]
    if query.get("event"):
        result = [r for r in result if r.event == query["event"]]
    if query.get("status"):
        wanted = query["status"]
        result = [r for r in result if wanted in (r.status, r.conclusion)]
    if query.get("head_sha"):
        result = [r for r in result if r.head_sha == query["head_sha"]]
    if query.get("actor"):
        result = [r for r in result if r.actor.lower() == query["actor"].lower()]
    if query.get("check_suite_id"):
        result = [r for r in result if str(r.check_suite_id) == query["check_suite_id"]]
    return result
