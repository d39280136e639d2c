"""A thin, counting wrapper around PyGithub's requester.

PyGithub gives us authentication, retries on rate limits and 5xx, and GitHub's URL rules;
this wrapper adds what an evidence extractor needs on top: a count of every request (the
rate budget is what limits an organisation-wide run), the last `x-ratelimit-remaining`,
conditional requests (a 304 costs no rate budget), `Link`-header pagination over raw JSON,
and artifact downloads, which PyGithub does not do.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import github
from github import Auth, Github, GithubException

from audit.errors import UsageError

MAX_ARTIFACT_BYTES = 100 * 1024 * 1024
"""Artifacts larger than this are not downloaded; they are recorded as unreadable."""

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


@dataclass
class Page:
    """One answer from GitHub: parsed JSON (None on 304) and the headers that matter."""

    data: object
    etag: str | None
    not_modified: bool
    next_url: str | None


@dataclass
class RequestCounter:
    """Requests spent, and the rate budget GitHub reported last."""

    requests: int = 0
    rate_remaining: int | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, headers: dict) -> None:
        self.requests += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and str(remaining).isdigit():
            self.rate_remaining = int(remaining)


class GitHubClient:
    """GitHub REST access for extraction; the token stays inside PyGithub."""

    def __init__(self, api_url: str, token: str | None, *, throttle: float | None = None):
        self.api_url = api_url.rstrip("/")
        self.github = Github(
            auth=Auth.Token(token) if token else None,
            base_url=self.api_url,
            per_page=100,
            seconds_between_requests=throttle,
            timeout=30,
        )
        self.counter = RequestCounter()

    @property
    def _requester(self):
        return self.github.requester

    def close(self) -> None:
        self.github.close()

    def repo_url(self, repository: str) -> str:
        return f"{self.api_url}/repos/{repository}"

    def get(self, url: str, params: dict | None = None, *, etag: str | None = None) -> Page:
        """GET one URL (absolute, or a path below the API URL) as JSON."""
        if url.startswith("/"):
            url = self.api_url + url
        headers = {"If-None-Match": etag} if etag else None
        try:
            response_headers, data = self._requester.requestJsonAndCheck("GET", url, parameters=params, headers=headers)
        except GithubException as error:
            self.counter.count(_kind(url), error.headers or {})
            raise
        self.counter.count(_kind(url), response_headers)
        not_modified = data is None and bool(etag)
        link = response_headers.get("link") or ""
        match = _NEXT_LINK.search(link)
        return Page(
            data=data,
            etag=response_headers.get("etag"),
            not_modified=not_modified,
            next_url=match.group(1) if match else None,
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
        try:
            repo = self.github.get_repo(repository)
        except GithubException as error:
            self.counter.count("repository", error.headers or {})
            raise _usage_error(error, repository) from None
        self.counter.count("repository", {})
        return repo.raw_data

    def download_artifact(self, repository: str, artifact_id: int) -> tuple[str, bytes | None, str | None]:
        """Fetch an artifact zip: ("ok", bytes, None), ("expired", None, why) or ("unreadable", None, why).

        GitHub answers `/zip` with 302 to a short-lived storage URL that rejects an
        Authorization header, or 410 Gone once the artifact expired
        (https://docs.github.com/en/rest/actions/artifacts#download-an-artifact).
        """
        url = f"{self.repo_url(repository)}/actions/artifacts/{artifact_id}/zip"
        try:
            status, headers, _ = self._requester.requestJson("GET", url)
        except github.GithubException as error:  # pragma: no cover - network layer failure
            return "unreadable", None, f"download failed: {error.status}"
        self.counter.count("artifact-download", headers)
        if status == 410:
            return "expired", None, "GitHub answered 410 Gone: the artifact expired before capture"
        location = headers.get("location")
        if status != 302 or not location:
            return "unreadable", None, f"GitHub answered {status} to the artifact download"
        request = urllib.request.Request(location, headers={"User-Agent": "soc2-audit"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - URL from GitHub's 302
                content = response.read(MAX_ARTIFACT_BYTES + 1)
        except (urllib.error.URLError, OSError) as error:
            return "unreadable", None, f"download from storage failed: {type(error).__name__}"
        if len(content) > MAX_ARTIFACT_BYTES:
            return "unreadable", None, f"artifact larger than {MAX_ARTIFACT_BYTES} bytes"
        return "ok", content, None


def environment_url(repo_url: str, name: str) -> str:
    """Environment names must be URL-encoded, `/` included."""
    return f"{repo_url}/environments/{quote(name, safe='')}"


def _kind(url: str) -> str:
    """A coarse label for the request counter: the last non-numeric path segment."""
    path = url.split("?", 1)[0].rstrip("/").split("/")
    for segment in reversed(path):
        if segment and not segment.isdigit():
            return segment
    return "other"


def _usage_error(error: GithubException, repository: str) -> UsageError:
    if error.status == 404:
        return UsageError(f"repository {repository} not found, or the token cannot see it")
    if error.status in (401, 403):
        return UsageError(
            f"GitHub refused access to {repository} (HTTP {error.status}): check the token and its scopes"
        )
    return UsageError(f"GitHub answered HTTP {error.status} for {repository}")
