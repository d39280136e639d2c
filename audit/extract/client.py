"""A thin, counting wrapper around PyGithub's requester.

PyGithub gives us authentication and GitHub's URL rules; this wrapper adds what an
evidence extractor needs on top: an explicit, bounded retry policy (`RetryPolicy`), a
count of every request and retry (the rate budget is what limits an organisation-wide
run), the last `x-ratelimit-remaining`, conditional requests (a 304 costs no rate budget),
`Link`-header pagination over raw JSON, and artifact downloads, which PyGithub does not do.

Retry policy, for every request including artifact downloads:

- 5xx, 429, connection errors and read timeouts: retried up to `MAX_RETRIES` times with
  exponential backoff (0 s, then `BACKOFF_FACTOR` * 2^n, at most `BACKOFF_MAX`);
- a `retry-after` header (secondary rate limit, 403 or 429): wait exactly that long;
- primary exhaustion (`x-ratelimit-remaining: 0`): wait until `x-ratelimit-reset` (+1 s);
- a 403 that is not a rate limit (missing scopes), 401 and 404: never retried;
- the waits before any one request succeeds add up to at most `max_wait` seconds; a
  longer wait raises `WaitTooLong` instead of sleeping (PyGithub's default would sleep
  until the reset, however far away). Each wait is reported as one line (`on_wait`);
- a rate-limit wait (retry-after, or an exhausted budget) is shared (`SharedBackoff`): the
  other requests in flight of a concurrent extraction (`audit.extract.parallel`) do not
  start a new request before it is over, so they back off together.

Circuit breaker (`CircuitBreaker`), across requests: an outage (refused connections,
timeouts, 5xx) is counted over consecutive requests, not per request, so a run stops after
`MAX_RETRIES + 1` failures in a row or `max_wait` seconds of waiting on them, whichever comes
first, with `GitHubUnavailable` (exit 1). Any other answer closes the breaker again. An
artifact download that failed because of an outage raises too: it is never recorded as
expired or unreadable, so the next run fetches it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import github
import requests
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from urllib3.exceptions import InvalidHeader

from audit.errors import AuditError, UsageError

MAX_ARTIFACT_BYTES = 100 * 1024 * 1024
"""Artifacts larger than this are not downloaded; they are recorded as unreadable."""

DEFAULT_MAX_WAIT = 900.0
"""Seconds one request may spend waiting (retry-after, rate-limit reset, backoff) in total."""
MAX_RETRIES = 8
"""Retries of one request before its last answer (or error) is final."""
BACKOFF_FACTOR = 1.0
"""Backoff between consecutive failures: 0 s, then 2, 4, 8 … seconds (urllib3's formula)."""
BACKOFF_MAX = 60.0
SECONDARY_RATE_WAIT = 60.0
"""Wait after a secondary rate limit that names no `retry-after` (GitHub's advice: a minute)."""
TIMEOUT = 30
"""Seconds to wait for GitHub to answer one request before it counts as a failure."""

_log = logging.getLogger(__name__)

# PyGithub logs each retry at INFO through its own stderr handler, several lines per wait;
# RetryPolicy reports every wait itself, in one line.
logging.getLogger("github.GithubRetry").setLevel(logging.WARNING)

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
_NOT_JSON = object()
"""A body that does not parse as JSON."""


@dataclass
class Page:
    """One answer from GitHub: parsed JSON (None on 304) and the headers that matter.

    Read a listing through `items` and an object through `object`, never `data` with a
    default: a body that is not what the endpoint documents raises `UnreadableAnswer`.
    """

    data: Any
    etag: str | None
    not_modified: bool
    next_url: str | None
    url: str = ""
    """What was asked (for messages: its path only)."""
    status: int = 200

    def items(self, key: str | None = None) -> list[dict]:
        """The objects this page lists: the body itself, or its `key` list for listings that
        answer `{"total_count": n, key: [...]}`."""
        if key is None:
            data, where = self.data, "body"
        else:
            body = self.object()
            if key not in body:
                raise self.unreadable(f'body has no "{key}" list')
            data, where = body[key], f'"{key}"'
        if not isinstance(data, list):
            raise self.unreadable(f"{where} is {_json_kind(data)}, not a list")
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise self.unreadable(f"{where}[{index}] is {_json_kind(item)}, not an object")
        return data

    def object(self) -> dict:
        """The body, which the endpoint documents as a JSON object."""
        if not isinstance(self.data, dict):
            raise self.unreadable(f"body is {_json_kind(self.data)}, not an object")
        return self.data

    def total_count(self) -> int:
        """`total_count` of an object page (what splits run windows under the 1,000 cap)."""
        count = self.object().get("total_count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise self.unreadable(f'"total_count" is {_json_kind(count)}, not a number')
        return count

    def unreadable(self, why: str) -> UnreadableAnswer:
        return UnreadableAnswer(f"GET {_path(self.url)}", f"HTTP {self.status}: {why}")


@dataclass
class RequestCounter:
    """Requests spent, and the rate budget GitHub reported last (shared by concurrent clients)."""

    requests: int = 0
    rate_remaining: int | None = None
    retries: int = 0
    """Requests repeated after a fault, a timeout or a rate limit (not in `requests`)."""
    waited: float = 0.0
    """Seconds spent waiting before those retries."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _mine: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def count(self, headers: dict) -> None:
        remaining = headers.get("x-ratelimit-remaining")
        with self._lock:
            self.requests += 1
            if remaining is not None and str(remaining).isdigit():
                self.rate_remaining = int(remaining)
        self._mine.requests = self.by_this_thread + 1

    @property
    def by_this_thread(self) -> int:
        """Requests counted by the calling thread: what one fetch cost while others ran beside it."""
        return getattr(self._mine, "requests", 0)

    def waited_for(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
            self.waited += seconds


class SharedBackoff:
    """A pause every concurrent request of one extraction honours before it starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def pause(self, seconds: float) -> None:
        """No request starts in the next `seconds` (GitHub asked one of them to wait that long)."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait(self) -> None:
        """Sleep until the current pause, if any, is over."""
        with self._lock:
            remaining = self._resume_at - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)


class WaitTooLong(AuditError):
    """GitHub asked for a wait beyond `max_wait`: stop (exit 1), keeping what was captured."""

    exit_code = 1


class AccessRefused(UsageError):
    """GitHub refused a request for want of a permission (403 that is not a rate limit, or 401).

    Fatal where the whole capture needs the answer; for one piece of a run's evidence the
    capture records the piece as unavailable instead (`audit.extract.evidence`).
    """

    def __init__(self, message: str, *, status: int, reason: str, permission: str | None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        """GitHub's own message, e.g. "Resource not accessible by integration"."""
        self.permission = permission
        """What GitHub says would have been accepted (`x-accepted-github-permissions`), if it said."""

    @property
    def answer(self) -> str:
        """What GitHub answered instead, e.g. "HTTP 403: Resource not accessible by integration"."""
        return f"HTTP {self.status}: {self.reason}"


class GitHubUnavailable(AuditError):
    """GitHub kept failing (5xx, timeouts, refused connections) through every retry: exit 1."""

    exit_code = 1


class UnreadableAnswer(AuditError):
    """GitHub answered, but not with what the endpoint documents: a null or non-JSON body, an
    object where a list belongs, an object without its list, a null among the listed objects.

    Its own error because it is neither a refusal (no permission is missing, none may be
    claimed) nor "none": read with a default, a null page of the runs listing would shrink the
    population and a null approvals list would read as "nobody approved". For one piece of a
    run's evidence the capture records the piece as unavailable, as it records a refusal
    (`audit.extract.evidence`); where the whole capture needs the answer (a listing of runs,
    deployments, artifacts or environments) the extraction stops, exit 1 like
    `GitHubUnavailable`, keeping what it stored, and the next run asks again.
    """

    exit_code = 1

    def __init__(self, request: str, reason: str):
        super().__init__(
            f"GitHub's answer to {request} is not what the endpoint documents ({reason}); stopping the run: "
            "the evidence captured so far is kept and the next run asks again"
        )
        self.request = request
        self.reason = reason
        """What was wrong, e.g. "HTTP 200: body is null, not a list"."""

    @property
    def answer(self) -> str:
        """What GitHub answered instead of the documented body (as `AccessRefused.answer`)."""
        return self.reason


class CircuitBreaker:
    """Stops the whole run during an outage instead of letting every request retry on its own.

    Without it each remaining request (thousands of artifact downloads) would spend its own
    retries and waits, and the run would crawl for days after GitHub went away.

    Only an answer to an attempt that started after the last failure closes it again: with
    a handful of requests in flight, an answer already on its way when GitHub went away says
    nothing about GitHub now. Each thread marks the start of its attempts (`attempting`).
    """

    def __init__(self, max_wait: float = DEFAULT_MAX_WAIT, max_failures: int = MAX_RETRIES + 1) -> None:
        self.max_wait = max_wait
        self.max_failures = max_failures
        self.failures = 0
        """Consecutive outage failures, across requests."""
        self.waited = 0.0
        """Seconds waited on those failures."""
        self.last = ""
        self._lock = threading.Lock()
        self._events = itertools.count(1)
        """Attempt starts and failures, numbered in the order they happened."""
        self._last_failure = 0
        self._attempt = threading.local()

    def attempting(self) -> None:
        """The calling thread starts an attempt (a request, or a retry of one)."""
        self._attempt.number = next(self._events)

    def failed(self, what: str) -> None:
        with self._lock:
            self.failures += 1
            self.last = what
            self._last_failure = next(self._events)
            if self.failures >= self.max_failures:
                raise self._open(f"{self.waited:.0f} s waited")

    def before_wait(self, seconds: float) -> None:
        with self._lock:
            if self.waited + seconds > self.max_wait:
                raise self._open(
                    f"waiting {seconds:.0f} s more would pass the {self.max_wait:.0f} s allowed (--max-wait)"
                )
            self.waited += seconds

    def answered(self) -> None:
        """The calling thread's attempt was answered: GitHub is up, if it started after the last failure."""
        with self._lock:
            if getattr(self._attempt, "number", 0) > self._last_failure:
                self.failures, self.waited, self.last = 0, 0.0, ""

    def _open(self, why: str) -> GitHubUnavailable:
        return GitHubUnavailable(
            f"GitHub unavailable: {self.failures} failures in a row across requests (last: {self.last}); {why}; "
            "stopping the run: the evidence captured so far is kept and the next run fetches the rest"
        )


class RetryPolicy(GithubRetry):
    """PyGithub's retry (403 rate-limit detection) with bounded retries and bounded waits.

    urllib3 makes a new instance per attempt through `new()`; `waited` travels along, so
    the `max_wait` budget covers all the waits of one request.
    """

    def __init__(
        self,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        on_wait: Callable[[str, float], None] | None = None,
        breaker: CircuitBreaker | None = None,
        **kwargs,
    ):
        kwargs.setdefault("total", MAX_RETRIES)
        kwargs.setdefault("backoff_factor", BACKOFF_FACTOR)
        kwargs.setdefault("backoff_max", BACKOFF_MAX)
        kwargs.setdefault("secondary_rate_wait", SECONDARY_RATE_WAIT)
        # GithubRetry adds 403 (retried only when it is a rate limit); 429 is GitHub's other
        # rate-limit status.
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])
        # After the last retry, hand the last answer to PyGithub (a GithubException with
        # GitHub's message) instead of urllib3's MaxRetryError.
        kwargs.setdefault("raise_on_status", False)
        super().__init__(**kwargs)
        self.max_wait = max_wait
        self.on_wait = on_wait
        self.breaker = breaker or CircuitBreaker(max_wait=max_wait)
        self.waited = 0.0
        self.backoff = SharedBackoff()
        """Rate-limit waits shared with every client forked from the same one."""

    def new(self, **kw):
        retry = super().new(**kw)
        retry.max_wait, retry.on_wait, retry.waited = self.max_wait, self.on_wait, self.waited
        retry.backoff = self.backoff
        retry.breaker = self.breaker
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        """Every failed attempt passes here, the last one included: count outages run-wide."""
        if error is not None or (response is not None and response.status >= 500):
            what = f"HTTP {response.status}" if error is None else type(error).__name__
            self.breaker.failed(f"{what} on {method} {_path(url)}")
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response=None) -> None:
        wait, reason = self._planned_wait(response)
        last = self.history[-1] if self.history else None
        request = f"{last.method} {_path(last.url)}" if last else "a request"
        if response is None or response.status >= 500:
            self.breaker.before_wait(wait)
        if self.waited + wait > self.max_wait:
            raise WaitTooLong(
                f"retrying {request} after {reason} needs a wait of {wait:.0f} s, more than the "
                f"{self.max_wait:.0f} s allowed (--max-wait); the evidence captured so far is kept: "
                "run the extraction again later or allow a longer wait"
            )
        self.waited += wait
        if self.on_wait is not None:
            self.on_wait(f"GitHub: {reason} on {request}; retrying in {wait:.1f} s", wait)
        if response is not None and _rate_limited(response):
            self.backoff.pause(wait)
        if wait > 0:
            time.sleep(wait)
        self.breaker.attempting()

    def _planned_wait(self, response) -> tuple[float, str]:
        if response is None:
            last = self.history[-1] if self.history else None
            error = type(last.error).__name__ if last is not None and last.error is not None else "error"
            return self.get_backoff_time(), error
        headers = response.headers
        try:
            retry_after = self.get_retry_after(response)
        except InvalidHeader:
            retry_after = None
        if retry_after is not None:
            return retry_after, f"HTTP {response.status} with retry-after {headers.get('retry-after')}"
        reset = headers.get("x-ratelimit-reset")
        if headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            at = datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%SZ")
            # +1 s: GitHub does not say when within that second the budget is restored.
            return max(int(reset) - time.time(), 0.0) + 1.0, f"HTTP {response.status}, rate limit spent until {at}"
        return self.get_backoff_time(), f"HTTP {response.status}"


CAPTURE_PERMISSIONS = {
    "actions": "read",
    "checks": "read",
    "contents": "read",
    "deployments": "read",
    "metadata": "read",
    "pull_requests": "read",
}
"""What a capture reads, and all an App installation token is asked for."""


def app_installation_auth(api_url: str, app_id: str, private_key: str, scope: str) -> Auth.AppInstallationAuth:
    """Authenticate as a GitHub App's installation through PyGithub's own App auth.

    PyGithub mints the installation token and mints a new one before it expires (after an
    hour), so a capture that waits for rate-limit resets outlives any single token. The
    installation is the one on `scope` (OWNER/NAME, or an organisation); the token asks for
    reads only.
    """
    app = Auth.AppAuth(app_id, private_key)
    integration = GithubIntegration(auth=app, base_url=api_url.rstrip("/"))
    try:
        if "/" in scope:
            installation = integration.get_repo_installation(*scope.split("/", 1))
        else:
            installation = integration.get_org_installation(scope)
    except GithubException as error:
        raise UsageError(
            f"GitHub App {app_id} is not installed on {scope}, or its key is wrong (HTTP {error.status}: "
            f"{github_message(error)})"
        ) from None
    except requests.RequestException as error:
        raise _unavailable(f"/repos/{scope}/installation", error) from None
    finally:
        integration.close()
    return app.get_installation_auth(installation.id, token_permissions=CAPTURE_PERMISSIONS)


class GitHubClient:
    """GitHub REST access for extraction; the token stays inside PyGithub."""

    def __init__(
        self,
        api_url: str,
        token: str | Auth.Auth | None,
        *,
        throttle: float | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
        on_wait: Callable[[str], None] | None = None,
        timeout: int = TIMEOUT,
        backoff_factor: float = BACKOFF_FACTOR,
    ):
        self.api_url = api_url.rstrip("/")
        self.counter = RequestCounter()
        self._on_wait = on_wait or _log.warning
        self.breaker = CircuitBreaker(max_wait=max_wait)
        self.retry = RetryPolicy(
            max_wait=max_wait, on_wait=self._waited, backoff_factor=backoff_factor, breaker=self.breaker
        )
        self.timeout = timeout
        self._fork = lambda: GitHubClient(
            api_url,
            token,
            throttle=throttle,
            max_wait=max_wait,
            on_wait=on_wait,
            timeout=timeout,
            backoff_factor=backoff_factor,
        )
        self.github = Github(
            auth=Auth.Token(token) if isinstance(token, str) and token else token or None,
            base_url=self.api_url,
            per_page=100,
            seconds_between_requests=throttle,
            # GraphQL queries are POSTs but read only: no 1 s pause as between writes.
            seconds_between_writes=throttle,
            timeout=timeout,
            retry=self.retry,
        )
        # Artifact blobs: no Authorization (storage rejects it) and no ~/.netrc lookup.
        self._blobs = requests.Session()
        self._blobs.auth = lambda request: request
        adapter = requests.adapters.HTTPAdapter(max_retries=self.retry)
        self._blobs.mount("http://", adapter)
        self._blobs.mount("https://", adapter)

    def answered(self, headers: dict, status: int) -> None:
        """Count an answer; any answer but a 5xx means GitHub is up again."""
        self.counter.count(headers)
        if status < 500:
            self.breaker.answered()

    def _waited(self, message: str, seconds: float) -> None:
        self.counter.waited_for(seconds)
        self._on_wait(message)

    def fork(self) -> GitHubClient:
        """A client of its own for another thread (PyGithub's requester is not thread-safe),
        counting into this client's counter and sharing its rate-limit backoff."""
        twin = self._fork()
        twin.counter = self.counter
        twin.retry.backoff = self.retry.backoff
        twin.breaker = twin.retry.breaker = self.breaker  # an outage is counted run-wide
        twin._on_wait = self._on_wait
        return twin

    def wait_for_backoff(self) -> None:
        """Before a request: honour a rate-limit wait another concurrent request was given,
        then start the attempt (`CircuitBreaker.attempting`)."""
        self.retry.backoff.wait()
        self.breaker.attempting()

    @property
    def _requester(self):
        return self.github.requester

    def close(self) -> None:
        self.github.close()
        self._blobs.close()

    def repo_url(self, repository: str) -> str:
        return f"{self.api_url}/repos/{repository}"

    def get(self, url: str, params: dict | None = None, *, etag: str | None = None) -> Page:
        """GET one URL (absolute, or a path below the API URL) as JSON.

        Through PyGithub's `requestJson`, which gives the status: only a 304 to `etag` is "not
        modified"; a 200 with a null body to a conditional request is an unreadable answer, not
        "unchanged" (`requestJsonAndCheck` answers None for both)."""
        if url.startswith("/"):
            url = self.api_url + url
        headers = {"If-None-Match": etag} if etag else None
        self.wait_for_backoff()
        try:
            status, response_headers, body = self._requester.requestJson("GET", url, parameters=params, headers=headers)
            data = _json_or_not(body)
            if status >= 400:  # (PyGithub's retry raises some of these itself)
                output = data if isinstance(data, dict) else {"data": body}
                raise self._requester.createException(status, response_headers, output)
        except GithubException as error:
            self.answered(error.headers or {}, error.status)
            if error.status == 401 or (error.status == 403 and not _is_rate_limit(error)):
                raise AccessRefused(
                    f"GitHub refused GET {_path(url)} (HTTP {error.status}: {github_message(error)}): "
                    "check the token and its scopes",
                    status=error.status,
                    reason=github_message(error),
                    permission=(error.headers or {}).get("x-accepted-github-permissions"),
                ) from None
            raise
        except requests.RequestException as error:
            raise _unavailable(url, error) from None
        self.answered(response_headers, status)
        if data is _NOT_JSON:
            raise UnreadableAnswer(f"GET {_path(url)}", f"HTTP {status}: body is not JSON")
        link = response_headers.get("link") or ""
        match = _NEXT_LINK.search(link)
        return Page(
            data=data,
            etag=response_headers.get("etag"),
            not_modified=status == 304 and bool(etag),
            next_url=match.group(1) if match else None,
            url=url,
            status=status,
        )

    def pages(self, url: str, params: dict | None = None, *, first: Page | None = None) -> Iterator[Page]:
        """Every page of a paginated listing, following GitHub's `Link: rel="next"`."""
        page = first or self.get(url, {**(params or {}), "per_page": 100})
        yield page
        while page.next_url:
            page = self.get(page.next_url)
            yield page

    def repository(self, repository: str) -> dict:
        """The repository object, through PyGithub's own Repository class."""
        self.wait_for_backoff()
        try:
            repo = self.github.get_repo(repository)
        except GithubException as error:
            self.answered(error.headers or {}, error.status)
            raise _usage_error(error, repository) from None
        except requests.RequestException as error:
            raise _unavailable(self.repo_url(repository), error) from None
        self.answered({}, 200)
        return repo.raw_data

    def download_artifact(self, repository: str, artifact_id: int) -> tuple[str, bytes | None, str | None]:
        """Fetch an artifact zip: ("ok", bytes, None), ("expired", None, why) or ("unreadable", None, why)."""
        return self.download_blob(self.artifact_location(repository, artifact_id))

    def artifact_location(self, repository: str, artifact_id: int) -> ArtifactLocation:
        """Ask `/zip` where an artifact's bytes are: the API request of a download.

        GitHub answers `/zip` with 302 to a short-lived storage URL that rejects an
        Authorization header, or 410 Gone once the artifact expired.
        """
        url = f"{self.repo_url(repository)}/actions/artifacts/{artifact_id}/zip"
        self.wait_for_backoff()
        try:
            status, headers, _ = self._requester.requestJson("GET", url)
        except github.GithubException as error:  # pragma: no cover - network layer failure
            return ArtifactLocation(None, "unreadable", f"download failed: {error.status}")
        except requests.RequestException as error:
            raise _unavailable(url, error) from None  # an outage, not a lost artifact
        self.answered(headers, status)
        if status >= 500:
            raise GitHubUnavailable(f"GitHub answered HTTP {status} to GET {_path(url)} after {MAX_RETRIES} retries")
        if status == 410:
            return ArtifactLocation(None, "expired", "GitHub answered 410 Gone: the artifact expired before capture")
        location = headers.get("location")
        if status != 302 or not location:
            return ArtifactLocation(None, "unreadable", f"GitHub answered {status} to the artifact download")
        return ArtifactLocation(location, "ok", None)

    def download_blob(self, location: ArtifactLocation) -> tuple[str, bytes | None, str | None]:
        """The bytes behind `location` from artifact storage: no API request, no rate budget."""
        if location.url is None:
            return location.status, None, location.why
        self.breaker.attempting()
        try:
            with self._blobs.get(
                location.url,
                headers={"User-Agent": "soc2-audit"},
                stream=True,
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                if response.status_code >= 500:
                    raise GitHubUnavailable(
                        f"artifact storage answered HTTP {response.status_code} after {MAX_RETRIES} retries"
                    )
                if response.status_code != 200:
                    return "unreadable", None, f"artifact storage answered {response.status_code}"
                content = _read_capped(response, MAX_ARTIFACT_BYTES + 1)
                self.breaker.answered()
        except requests.RequestException as error:
            raise _unavailable(location.url, error) from None  # an outage, not a lost artifact
        if len(content) > MAX_ARTIFACT_BYTES:
            return "unreadable", None, f"artifact larger than {MAX_ARTIFACT_BYTES} bytes"
        return "ok", content, None


@dataclass(frozen=True)
class ArtifactLocation:
    """Where `/zip` said an artifact's bytes are (`url`), or why there are none to fetch."""

    url: str | None
    status: str
    """ok (download `url`), expired or unreadable."""
    why: str | None


def _read_capped(response: requests.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body, whatever Content-Length claims."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _json_or_not(body: str) -> Any:
    """The JSON value of a body (None when empty), or `_NOT_JSON`."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return _NOT_JSON


def _json_kind(value: Any) -> str:
    """How a JSON value is named in a message: "null", "a list", "an object"…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _path(url: str | None) -> str:
    """The URL's path, for messages: never a query string or credentials."""
    return urlsplit(url or "").path or "/"


def github_message(error: GithubException) -> str:
    """The `message` GitHub put in an error answer's JSON."""
    data = error.data if isinstance(error.data, dict) else {}
    return str(data.get("message") or "no message")


def _rate_limited(response) -> bool:
    """A 403/429 that asks for a wait: `retry-after` (secondary limit) or a spent budget."""
    headers = response.headers
    return response.status in (403, 429) and (
        headers.get("retry-after") is not None or headers.get("x-ratelimit-remaining") == "0"
    )


def _is_rate_limit(error: GithubException) -> bool:
    return (
        isinstance(error, github.RateLimitExceededException)
        or (error.headers or {}).get("x-ratelimit-remaining") == "0"
    )


def _unavailable(url: str, error: requests.RequestException) -> GitHubUnavailable:
    return GitHubUnavailable(
        f"GitHub did not answer GET {_path(url)} after {MAX_RETRIES} retries ({type(error).__name__})"
    )


def _usage_error(error: GithubException, repository: str) -> UsageError:
    if error.status == 404:
        return UsageError(f"repository {repository} not found, or the token cannot see it")
    if error.status in (401, 403):
        return UsageError(
            f"GitHub refused access to {repository} (HTTP {error.status}): check the token and its scopes"
        )
    return UsageError(f"GitHub answered HTTP {error.status} for {repository}")
