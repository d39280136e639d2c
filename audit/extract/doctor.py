"""`soc2-audit doctor`: probe once, per repository, every endpoint the capture needs.

A token without a permission does not fail loudly on GitHub: GraphQL answers `null` with a
`FORBIDDEN` error, REST answers 403 "Resource not accessible by integration" for one kind of
object while the rest works. An extraction then runs for hours and leaves pieces
unavailable. The doctor asks each kind of object once (the first page, one item) and
reports, in one table, what the token cannot read and which permission it lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from github import GithubException

from audit.errors import AuditError, UsageError
from audit.extract import graphql
from audit.extract.client import AccessRefused, GitHubClient

OK, REFUSED, FAILED, SKIPPED = "ok", "refused", "failed", "skipped"
GRAPHQL_PROBES = (("WorkflowRun check runs", "checks: read"), ("Commit pull requests", "pull_requests: read"))

Answer = TypeVar("Answer")


class PermissionsMissing(AuditError):
    """The token lacks a permission the capture needs: exit 1 after the table."""

    exit_code = 1


@dataclass(frozen=True)
class Probe:
    """One endpoint asked once for one repository, and what GitHub answered."""

    repository: str
    request: str
    """What was asked, e.g. "GET /repos/{owner}/{repo}/actions/runs"."""
    permission: str
    """The fine-grained permission the capture relies on for it, e.g. "actions: read"."""
    outcome: str
    """ok, refused (a permission is missing), failed (another error) or skipped (nothing to ask about)."""
    detail: str = ""


def check_access(client: GitHubClient, repositories: list[str], organization: str | None = None) -> list[Probe]:
    """Probe the organisation listing (when discovering) and each repository's endpoints."""
    probes: list[Probe] = []
    if organization and not repositories:
        probe, listed = _ask(
            organization,
            "GET /orgs/{org}/repos",
            "metadata: read",
            lambda: [repo for page in client.pages(f"/orgs/{organization}/repos") for repo in page.data or []],
        )
        probes.append(probe)
        repositories = [repo["full_name"] for repo in listed or [] if not repo.get("archived")]
    for repository in repositories:
        probes.extend(_probe_repository(client, repository))
    return probes


def missing_permissions(probes: list[Probe]) -> list[str]:
    """The permissions some probe was refused for, each once, sorted."""
    return sorted({probe.permission for probe in probes if probe.outcome == REFUSED})


def table(probes: list[Probe]) -> str:
    """The probes as a plain-text table, one line each."""
    rows = [("repository", "request", "permission", "outcome")] + [
        (p.repository, p.request, p.permission, p.outcome + (f": {p.detail}" if p.detail else "")) for p in probes
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def _probe_repository(client: GitHubClient, repository: str) -> list[Probe]:
    base = f"{client.repo_url(repository)}"

    def rest(path: str, params: dict | None = None) -> Callable[[], Any]:
        """The first item GitHub answers at `path`: its JSON, untyped as GitHub sends it."""
        return lambda: client.get(f"{base}{path}", {"per_page": 1, **(params or {})}).data

    def rest_about_run(path: str) -> Callable[[dict[str, Any]], Any]:
        return lambda run: rest(f"/actions/runs/{run['id']}/{path}")()

    probe, repo = _ask(repository, "GET /repos/{owner}/{repo}", "metadata: read", lambda: client.repository(repository))
    probes = [probe]
    if repo is None:
        return probes  # nothing else can answer
    asks = [
        ("GET /repos/{owner}/{repo}/environments", "actions: read", rest("/environments")),
        ("GET /repos/{owner}/{repo}/deployments", "deployments: read", rest("/deployments")),
        ("GET /repos/{owner}/{repo}/actions/runs", "actions: read", rest("/actions/runs")),
        ("GET /repos/{owner}/{repo}/actions/artifacts", "actions: read", rest("/actions/artifacts")),
    ]
    answers: dict[str, Any] = {}
    for request, permission, call in asks:
        probe, answers[request] = _ask(repository, request, permission, call)
        probes.append(probe)
    deployments = answers["GET /repos/{owner}/{repo}/deployments"] or []
    deployment = deployments[0] if isinstance(deployments, list) and deployments else None
    runs = (answers["GET /repos/{owner}/{repo}/actions/runs"] or {}).get("workflow_runs") or []
    run = runs[0] if runs else None
    probes.append(
        _ask_about(
            repository,
            "GET /repos/{owner}/{repo}/deployments/{id}/statuses",
            "deployments: read",
            deployment,
            "no deployment to ask about",
            lambda deployment: rest(f"/deployments/{deployment['id']}/statuses")(),
        )[0]
    )
    for request, permission, path in (
        ("GET /repos/{owner}/{repo}/actions/runs/{id}/jobs", "actions: read", "jobs"),
        ("GET /repos/{owner}/{repo}/actions/runs/{id}/approvals", "actions: read", "approvals"),
    ):
        probes.append(
            _ask_about(
                repository,
                request,
                permission,
                run,
                "no workflow run to ask about",
                rest_about_run(path),
            )[0]
        )
    probe, pulls = _ask_about(
        repository,
        "GET /repos/{owner}/{repo}/commits/{sha}/pulls",
        "pull_requests: read",
        run,
        "no workflow run to ask about",
        lambda run: rest(f"/commits/{run['head_sha']}/pulls")(),
    )
    probes.append(probe)
    pull = pulls[0] if isinstance(pulls, list) and pulls else None
    probes.append(
        _ask_about(
            repository,
            "GET /repos/{owner}/{repo}/pulls/{number}/reviews",
            "pull_requests: read",
            pull,
            "no pull request to ask about",
            lambda pull: rest(f"/pulls/{pull['number']}/reviews")(),
        )[0]
    )
    probes.extend(_probe_graphql(client, repository, run))
    probes.append(_probe_graphql_statuses(client, repository, deployment))
    return probes


def _probe_graphql(client: GitHubClient, repository: str, run: dict | None) -> list[Probe]:
    """The two batched queries, for one run and its commit; a refusal shows as an error."""
    if run is None:
        return [
            Probe(repository, "POST /graphql " + what, permission, SKIPPED, "no workflow run to ask about")
            for what, permission in GRAPHQL_PROBES
        ]
    probes = []
    try:
        evidence = graphql.run_evidence(client, [run.get("node_id") or ""], [1])[0]
        pulls = graphql.commit_pulls(client, repository, [run.get("head_sha") or ""]).get(run.get("head_sha") or "")
    except graphql.GraphQLUnavailable as why:
        detail = f"{why}: the capture asks REST per run instead"
        return [Probe(repository, "POST /graphql", "none", FAILED, detail)]
    refusals = (
        evidence.refused if evidence.jobs is None else None,
        pulls.refused if pulls is not None and pulls.pulls is None else None,
    )
    for (what, permission), refused in zip(GRAPHQL_PROBES, refusals, strict=True):
        outcome = OK if refused is None else (REFUSED if refused.startswith("FORBIDDEN") else FAILED)
        probes.append(Probe(repository, "POST /graphql " + what, permission, outcome, refused or ""))
    return probes


def _probe_graphql_statuses(client: GitHubClient, repository: str, deployment: dict[str, Any] | None) -> Probe:
    """The batched statuses query, for one deployment; a refusal shows as an error."""
    request, permission = "POST /graphql Deployment statuses", "deployments: read"
    if deployment is None:
        return Probe(repository, request, permission, SKIPPED, "no deployment to ask about")
    try:
        found = graphql.deployment_statuses(client, [deployment.get("node_id") or ""])[0]
    except graphql.GraphQLUnavailable as why:
        return Probe(repository, request, "none", FAILED, f"{why}: the capture asks REST per deployment instead")
    if found.statuses is not None:
        return Probe(repository, request, permission, OK)
    refused = found.refused or "no complete answer"
    return Probe(repository, request, permission, REFUSED if refused.startswith("FORBIDDEN") else FAILED, refused)


def _ask_about(
    repository: str,
    request: str,
    permission: str,
    subject: dict[str, Any] | None,
    missing: str,
    call: Callable[[dict[str, Any]], Answer],
) -> tuple[Probe, Answer | None]:
    """`call(subject)` when there is a subject to ask about, else skipped for the reason `missing`."""
    if subject is None:
        return Probe(repository, request, permission, SKIPPED, missing), None
    return _ask(repository, request, permission, lambda: call(subject))


def _ask(repository: str, request: str, permission: str, call: Callable[[], Answer]) -> tuple[Probe, Answer | None]:
    try:
        answer = call()
    except AccessRefused as refused:
        accepted = f" (GitHub accepts: {refused.permission})" if refused.permission else ""
        detail = f"{refused.answer}{accepted}"
        return Probe(repository, request, permission, REFUSED, detail), None
    except UsageError as error:
        return Probe(repository, request, permission, FAILED, str(error)), None
    except GithubException as error:
        return Probe(repository, request, permission, FAILED, f"HTTP {error.status}"), None
    return Probe(repository, request, permission, OK), answer
