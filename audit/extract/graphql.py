"""Batched evidence queries over GitHub's GraphQL API, answered as REST-shaped dicts.

Per production run the REST way costs a jobs, an approvals, a commit→pulls and a reviews
request. Here one `nodes(ids:)` query fetches jobs and environment approvals of up to 100
runs, and one `repository { object(oid:) … }` query the pull requests and reviews of up to
100 commits (https://docs.github.com/en/graphql/reference/queries#nodes). The answers are
mapped to the dicts the REST endpoints return, so the store gets exactly the same rows
whichever way they came.

What GraphQL cannot give stays on REST (`audit.extract.capture`):

- deployment statuses: `DeploymentStatus` has no database id and no `target_url`, and
  verdicts cite statuses by id (`deployment_statuses:<id>`);
- the jobs of a re-run (`run_attempt` > 1): check runs do not say which attempt they belong
  to, and `tests.passed` judges the latest attempt, so those runs use `jobs?filter=all`;
- any connection longer than one page (more than 100 jobs, 10 approvals, 10 pull requests
  of a commit or 100 reviews): rare, and REST pages it.

Ids: GraphQL `databaseId` is a 32-bit `Int`, which run and job ids outgrew. Runs are matched
by position (`nodes` answers in the order asked), a job's id is the last segment of its check
run's `url` (`https://github.com/{owner}/{repo}/runs/{id}`), reviews use `fullDatabaseId`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from github import GithubException, RateLimitExceededException

from audit.extract.client import GitHubClient

BATCH = 100
"""`nodes(ids:)` takes at most 100 ids; commits are batched as many aliases per query."""

REVIEWS_PER_RUN = 10
ENVIRONMENTS_PER_REVIEW = 10
PULLS_PER_COMMIT = 10
"""Kept small so a query stays far below GitHub's 500,000-node limit (a batch of 100 asks
for at most 100 × 10 × 10 environments + 100 × 100 check runs)."""

RUNS_QUERY = f"""
query($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on WorkflowRun {{
      deploymentReviews(first: {REVIEWS_PER_RUN}) {{
        pageInfo {{ hasNextPage }}
        nodes {{
          state comment user {{ login }}
          environments(first: {ENVIRONMENTS_PER_REVIEW}) {{ pageInfo {{ hasNextPage }} nodes {{ name }} }}
        }}
      }}
      checkSuite {{
        checkRuns(first: 100, filterBy: {{checkType: ALL}}) {{
          pageInfo {{ hasNextPage }}
          nodes {{ url detailsUrl name status conclusion startedAt completedAt }}
        }}
      }}
    }}
  }}
}}
"""

_COMMIT_FIELDS = f"""
... on Commit {{
  associatedPullRequests(first: {PULLS_PER_COMMIT}) {{
    pageInfo {{ hasNextPage }}
    nodes {{
      number title author {{ login }} state mergedAt mergeCommit {{ oid }} headRefOid baseRefName url
      reviews(first: 100) {{
        pageInfo {{ hasNextPage }}
        nodes {{ fullDatabaseId state author {{ login }} submittedAt commit {{ oid }} authorAssociation }}
      }}
    }}
  }}
}}
"""

_SHA = re.compile(r"^[0-9a-f]{40}$")
_CHECK_RUN_ID = re.compile(r"/runs/(\d+)$")
_JOB_ID = re.compile(r"/job/(\d+)")


class GraphQLUnavailable(Exception):
    """GitHub answered `/graphql` with 401, 403 or 404: no token, or no GraphQL API here."""


@dataclass
class RunEvidence:
    """Jobs and approvals of one run, REST-shaped; None where REST must be asked instead."""

    jobs: list[dict] | None
    approvals: list[dict] | None


@dataclass
class CommitPulls:
    """The pull requests of one commit, REST-shaped, with each one's reviews (None: ask REST)."""

    pulls: list[dict] | None
    reviews: dict[int, list[dict] | None] = field(default_factory=dict)


def query(client: GitHubClient, text: str, variables: dict) -> tuple[dict, list[dict]]:
    """POST one GraphQL query through PyGithub's requester; (data, errors). Counted as one request."""
    requester = client.github.requester
    try:
        headers, body = requester.requestJsonAndCheck(
            "POST", requester.graphql_url, input={"query": text, "variables": variables}
        )
    except RateLimitExceededException:
        raise
    except GithubException as error:
        client.counter.count("graphql", error.headers or {})
        if error.status in (401, 403, 404):
            raise GraphQLUnavailable(f"GitHub answered HTTP {error.status} to /graphql") from None
        raise
    client.counter.count("graphql", headers)
    body = body or {}
    errors = body.get("errors") or []
    if body.get("data") is None:
        raise GithubException(502, body, headers, "GraphQL answered no data: " + _messages(errors))
    return body["data"], errors


def run_evidence(client: GitHubClient, node_ids: list[str], run_attempts: list[int]) -> list[RunEvidence | None]:
    """Jobs and approvals of up to 100 runs (None for a run GitHub could not resolve)."""
    data, _ = query(client, RUNS_QUERY, {"ids": node_ids})
    answers = []
    for node, attempt in zip(data.get("nodes") or [], run_attempts, strict=True):
        if not node:
            answers.append(None)
            continue
        answers.append(RunEvidence(jobs=_jobs(node, attempt), approvals=_approvals(node)))
    return answers


def commit_pulls(client: GitHubClient, repository: str, shas: list[str]) -> dict[str, CommitPulls | None]:
    """Pull requests (and their reviews) of up to 100 commits of one repository."""
    owner, name = repository.split("/", 1)
    shas = [sha for sha in shas if _SHA.match(sha)]
    if not shas:
        return {}
    aliases = "\n".join(f'c{index}: object(oid: "{sha}") {{ {_COMMIT_FIELDS} }}' for index, sha in enumerate(shas))
    text = f"query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ {aliases} }} }}"
    data, _ = query(client, text, {"owner": owner, "name": name})
    repo = data.get("repository") or {}
    answers: dict[str, CommitPulls | None] = {}
    for index, sha in enumerate(shas):
        commit = repo.get(f"c{index}")
        connection = (commit or {}).get("associatedPullRequests")
        if commit is None or connection is None:
            answers[sha] = None if commit is None else CommitPulls(pulls=[])
            continue
        if connection["pageInfo"]["hasNextPage"]:
            answers[sha] = CommitPulls(pulls=None)
            continue
        found = CommitPulls(pulls=[_pull(node) for node in connection["nodes"] if node])
        for node in connection["nodes"]:
            if node:
                reviews = node.get("reviews") or {}
                found.reviews[node["number"]] = (
                    None
                    if (reviews.get("pageInfo") or {}).get("hasNextPage")
                    else [_review(r) for r in reviews.get("nodes") or [] if r]
                )
        answers[sha] = found
    return answers


# -- GraphQL nodes -> REST-shaped dicts ------------------------------------------------------


def _jobs(node: dict, run_attempt: int | None) -> list[dict] | None:
    if (run_attempt or 1) > 1:
        return None  # check runs do not name their attempt: REST jobs?filter=all decides
    connection = ((node.get("checkSuite") or {}).get("checkRuns")) or {}
    if connection.get("pageInfo", {}).get("hasNextPage"):
        return None
    jobs = []
    for check in connection.get("nodes") or []:
        job_id = _check_run_id(check)
        if job_id is None:
            return None
        jobs.append(
            {
                "id": job_id,
                "run_attempt": run_attempt or 1,
                "name": check.get("name"),
                "status": _lower(check.get("status")),
                "conclusion": _lower(check.get("conclusion")),
                "started_at": check.get("startedAt"),
                "completed_at": check.get("completedAt"),
                "html_url": check.get("detailsUrl"),
            }
        )
    return jobs


def _approvals(node: dict) -> list[dict] | None:
    connection = node.get("deploymentReviews") or {}
    if connection.get("pageInfo", {}).get("hasNextPage"):
        return None
    approvals = []
    for review in connection.get("nodes") or []:
        environments = review.get("environments") or {}
        if environments.get("pageInfo", {}).get("hasNextPage"):
            return None
        approvals.append(
            {
                "state": _lower(review.get("state")),
                "comment": review.get("comment"),
                "user": review.get("user"),
                "environments": [{"name": e["name"]} for e in environments.get("nodes") or [] if e],
            }
        )
    return approvals


def _pull(node: dict) -> dict:
    return {
        "number": node["number"],
        "title": node.get("title"),
        "user": node.get("author"),
        # REST knows open/closed only; GraphQL's MERGED is a closed pull request.
        "state": "open" if node.get("state") == "OPEN" else "closed",
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "head": {"sha": node.get("headRefOid")},
        "base": {"ref": node.get("baseRefName")},
        "html_url": node.get("url"),
    }


def _review(node: dict) -> dict:
    return {
        "id": int(node["fullDatabaseId"]),
        "user": node.get("author"),
        "state": node.get("state"),
        "submitted_at": node.get("submittedAt"),
        "commit_id": (node.get("commit") or {}).get("oid"),
        "author_association": node.get("authorAssociation"),
    }


def _check_run_id(check: dict) -> int | None:
    for pattern, value in ((_CHECK_RUN_ID, check.get("url")), (_JOB_ID, check.get("detailsUrl"))):
        match = pattern.search(value or "")
        if match:
            return int(match.group(1))
    return None


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _messages(errors: list[dict]) -> str:
    return "; ".join(str(error.get("message")) for error in errors[:3]) or "no error given"
