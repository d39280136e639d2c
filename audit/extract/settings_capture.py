"""Settings in force and deploy credentials: the configuration the controls rely on.

GitHub only shows the current configuration, so every extraction snapshots it with the
capture time: the default branch's classic protection (`GET .../branches/{b}/protection`,
readable with admin rights only) and the ruleset rules that apply to it
(`GET .../rules/branches/{b}`, readable with read access). The environments' protection
rules are snapshotted by `capture.py` already (`environment_snapshots`).

Where the organisation audit log is readable (GitHub Enterprise Cloud), the changes to
branch protection, rulesets and environments are captured with their exact time and actor;
elsewhere a change is only known to lie between two captures, and the refusal is recorded.

Deploy credentials: the workflow file of every production run at its deployed commit is
resolved to its blob SHA (GraphQL, 100 commits a query) and each distinct blob is read once,
so a workflow that changes twice a quarter costs two reads, not one per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from github import GithubException

from audit.errors import UsageError
from audit.extract import graphql
from audit.extract.client import UnreadableAnswer
from audit.extract.session import CaptureSession
from audit.store import now_utc, to_json
from audit.times import iso_z

AUDIT_LOG_ACTIONS = ("protected_branch", "repository_ruleset", "environment")
"""Audit-log action categories that change what the controls rely on."""

AUDIT_LOG_LOOKBACK = timedelta(days=180)
"""The audit log is read from this long before the period: the last change before the
period's start tells the settings it started with (GitHub keeps web events 180 days)."""

BATCH = 100
"""Commits (or blobs) resolved per GraphQL query."""


@dataclass(frozen=True)
class Refused:
    """GitHub refused a settings read (no permission, not found, not on this plan), or answered
    it with what the endpoint does not document (`status` None: the message says what)."""

    status: int | None
    message: str

    @property
    def detail(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


class SettingsCollector:
    """Branch protection and rulesets per capture, the audit log, and workflow files."""

    def __init__(self, session: CaptureSession):
        self.session = session
        self.store = session.store
        self.client = session.client

    def _refusable(self, owner: str, query: str, params: dict, fetch: Callable[[], tuple[Any, int]]) -> Any:
        """Run and log one query; a 403, 404 or 422 comes back as `Refused` (logged with its request),
        and so does an answer that is not what the endpoint documents: unknown, never "none"."""
        started = self.session.log.begin()
        try:
            result, rows = fetch()
        except GithubException as error:
            if error.status not in (403, 404, 422):
                raise
            data = error.data if isinstance(error.data, dict) else {}
            result, rows = Refused(error.status, str(data.get("message") or "no message")), 0
        except UsageError as error:  # the client's answer to a 403 that is not a rate limit
            result, rows = Refused(403, str(error)), 0
        except UnreadableAnswer as error:
            result, rows = Refused(None, error.reason), 0
        self.session.log.record(owner, query, params, started, rows=rows)
        return result

    # -- the default branch --------------------------------------------------------------

    def collect_branch(self, repository: str, branch: str | None, captured_at: str) -> None:
        """Snapshot the default branch's classic protection and the ruleset rules applying to it."""
        if not branch:
            return
        url = f"{self.client.repo_url(repository)}/branches/{branch}/protection"
        protection = self._refusable(
            repository,
            "GET /repos/{owner}/{repo}/branches/{branch}/protection",
            {"branch": branch},
            lambda: (self.client.get(url).object(), 1),
        )
        if not isinstance(protection, Refused):
            protection_snapshot = protection_row(repository, branch, captured_at, protection)
        elif protection.status == 404 and protection.message == "Branch not protected":
            protection_snapshot = protection_row(repository, branch, captured_at, {})
        else:  # without admin rights GitHub answers 403 or a bare 404: unknown, not unprotected
            protection_snapshot = _snapshot(repository, branch, captured_at, "protection", None, protection.detail)
        rules_url = f"{self.client.repo_url(repository)}/rules/branches/{branch}"

        def fetch_rules():
            found = [rule for page in self.client.pages(rules_url) for rule in page.items()]
            return found, len(found)

        rules = self._refusable(
            repository, "GET /repos/{owner}/{repo}/rules/branches/{branch}", {"branch": branch}, fetch_rules
        )
        rules_snapshot = (
            _snapshot(repository, branch, captured_at, "rules", None, rules.detail)
            if isinstance(rules, Refused)
            else rules_row(repository, branch, captured_at, rules)
        )
        self.store.save_branch_snapshots([protection_snapshot, rules_snapshot])

    # -- the organisation audit log ------------------------------------------------------

    def collect_audit_log(self, organization: str, repositories: list[str]) -> None:
        """The organisation's settings changes since `AUDIT_LOG_LOOKBACK` before the period."""
        since = (self.session.start - AUDIT_LOG_LOOKBACK).date().isoformat()
        captured_at = now_utc()
        in_scope = {name.lower() for name in repositories}
        url = f"{self.client.api_url}/orgs/{organization}/audit-log"
        events: list[dict] = []
        for action in AUDIT_LOG_ACTIONS:
            phrase = f"action:{action} created:>={since}"

            def fetch(phrase=phrase):
                pages = self.client.pages(url, {"phrase": phrase, "include": "web"})
                found = [event for page in pages for event in page.items()]
                return found, len(found)

            answer = self._refusable(organization, "GET /orgs/{org}/audit-log", {"phrase": phrase}, fetch)
            if isinstance(answer, Refused):  # not Enterprise Cloud, or not an owner: one refusal says it
                self.store.save_audit_log_read(_read(organization, captured_at, since, None, answer.detail))
                return
            events += answer
        rows = [audit_event_row(organization, event, captured_at) for event in events]
        self.store.save_audit_log_events([row for row in rows if (row["repository"] or "").lower() in in_scope])
        self.store.save_audit_log_read(_read(organization, captured_at, since, len(rows), None))

    # -- workflow files (the OIDC trail) -------------------------------------------------

    def collect_workflow_files(self, repository: str, runs: list[dict]) -> None:
        """The workflow file of each run at its commit: blob SHA per commit, text once per blob."""
        if not self.session.graphql_available:
            return  # left unknown: the population shows the OIDC column as not captured
        wanted = sorted({(run["path"], run["head_sha"]) for run in runs if run.get("path") and run.get("head_sha")})
        known = self.store.known_workflow_files(repository)
        missing = [pair for pair in wanted if pair not in known and '"' not in pair[0] and "\\" not in pair[0]]
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            aliases = "\n".join(
                f'w{index}: object(expression: "{sha}:{path}") {{ ... on Blob {{ oid }} }}'
                for index, (path, sha) in enumerate(batch)
            )
            answer = self._query(repository, "POST /graphql repository.object(expression:) Blob", aliases, len(batch))
            if answer is None:
                return
            found, refusals = answer
            captured_at = now_utc()
            self.store.save_workflow_files(
                [
                    {
                        "repository": repository,
                        "path": path,
                        "commit_sha": sha,
                        "blob_sha": (found.get(f"w{index}") or {}).get("oid"),
                        "captured_at": captured_at,
                    }
                    for index, (path, sha) in enumerate(batch)
                    # a null GitHub explains with an error is unknown, not "no such file": asked again
                    if refusals.under("repository", f"w{index}") is None
                ]
            )
        blobs = self.store.unread_workflow_blobs(repository)
        for start in range(0, len(blobs), BATCH):
            oids = blobs[start : start + BATCH]
            aliases = "\n".join(
                f'b{index}: object(oid: "{oid}") {{ ... on Blob {{ text isBinary }} }}'
                for index, oid in enumerate(oids)
            )
            answer = self._query(repository, "POST /graphql repository.object(oid:) Blob text", aliases, len(oids))
            if answer is None:
                return
            found, _ = answer
            captured_at = now_utc()
            self.store.save_workflow_blobs(
                [
                    {"repository": repository, "blob_sha": oid, "text": text, "captured_at": captured_at}
                    for index, oid in enumerate(oids)
                    if (text := (found.get(f"b{index}") or {}).get("text")) is not None
                ]
            )

    def _query(self, repository: str, name: str, aliases: str, size: int) -> tuple[dict, graphql.Refusals] | None:
        """One logged GraphQL query of aliased `repository.object` fields, with the errors that
        explain its nulls; None when GraphQL is unavailable or gave no repository (refused, or a
        null answer: left unknown, asked again by the next extraction)."""
        owner, repo = repository.split("/", 1)
        text = f"query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ {aliases} }} }}"
        started = self.session.log.begin()
        try:
            data, refusals = graphql.query(self.client, text, {"owner": owner, "name": repo})
        except graphql.GraphQLUnavailable:
            self.session.log.record(repository, name, {"objects": size}, started, rows=0)
            self.session.graphql_available = False
            return None
        found = (data or {}).get("repository")
        if not isinstance(found, dict):
            self.session.log.record(repository, name, {"objects": size}, started, rows=0)
            return None
        self.session.log.record(repository, name, {"objects": size}, started, rows=size)
        return found, refusals


def _snapshot(repository, branch, captured_at, source, raw, unreadable=None, **settings) -> dict:
    return {
        "repository": repository,
        "branch": branch,
        "captured_at": captured_at,
        "source": source,
        "readable": int(unreadable is None),
        "detail": unreadable,
        "required_reviews": settings.get("required_reviews"),
        "dismiss_stale_reviews": settings.get("dismiss_stale_reviews"),
        "required_checks": None if settings.get("required_checks") is None else to_json(settings["required_checks"]),
        "raw": None if raw is None else to_json(raw),
    }


def protection_row(repository: str, branch: str, captured_at: str, protection: dict) -> dict:
    """Classic branch protection -> one snapshot row (no required reviews block: 0 reviews)."""
    reviews = protection.get("required_pull_request_reviews") or {}
    checks = protection.get("required_status_checks") or {}
    contexts = [c.get("context") for c in checks.get("checks") or []] or list(checks.get("contexts") or [])
    return _snapshot(
        repository,
        branch,
        captured_at,
        "protection",
        protection,
        required_reviews=int(reviews.get("required_approving_review_count") or 0) if reviews else 0,
        dismiss_stale_reviews=int(bool(reviews.get("dismiss_stale_reviews"))),
        required_checks=sorted(contexts),
    )


def rules_row(repository: str, branch: str, captured_at: str, rules: list[dict]) -> dict:
    """The ruleset rules applying to a branch -> one snapshot row."""
    reviews, dismiss, checks = 0, 0, set()
    for rule in rules:
        parameters = rule.get("parameters") or {}
        if rule.get("type") == "pull_request":
            reviews = max(reviews, int(parameters.get("required_approving_review_count") or 0))
            dismiss = max(dismiss, int(bool(parameters.get("dismiss_stale_reviews_on_push"))))
        elif rule.get("type") == "required_status_checks":
            checks |= {c.get("context") for c in parameters.get("required_status_checks") or []}
    return _snapshot(
        repository,
        branch,
        captured_at,
        "rules",
        rules,
        required_reviews=reviews,
        dismiss_stale_reviews=dismiss,
        required_checks=sorted(checks),
    )


def _read(organization: str, captured_at: str, since: str, events: int | None, unreadable: str | None) -> dict:
    return {
        "organization": organization,
        "captured_at": captured_at,
        "since": since,
        "readable": int(unreadable is None),
        "events": events,
        "detail": unreadable,
    }


def audit_event_row(organization: str, event: dict, captured_at: str) -> dict:
    """One audit-log event; its time is GitHub's `@timestamp` (milliseconds since the epoch)."""
    millis = event.get("@timestamp") or event.get("created_at")
    moment = iso_z(datetime.fromtimestamp(millis / 1000, UTC)) if millis else None
    return {
        "document_id": event.get("_document_id") or f"{event.get('action')}:{millis}:{event.get('actor')}",
        "organization": organization,
        "repository": event.get("repo"),
        "created_at": moment,
        "action": event.get("action"),
        "actor": event.get("actor"),
        "subject": event.get("name") or event.get("environment_name") or event.get("ruleset_name"),
        "captured_at": captured_at,
        "raw": to_json(event),
    }
