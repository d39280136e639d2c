"""Batched evidence queries over GitHub's GraphQL API, answered as REST-shaped dicts.

Per production run the REST way costs a jobs, an approvals, a commit→pulls and a reviews
request, and per deployment a statuses request. Here one `nodes(ids:)` query fetches jobs and
environment approvals of up to 100 runs, one the statuses of up to 100 deployments, and one
`repository { object(oid:) … }` query the pull requests and reviews of up to 100 commits
(the schema: tests/fixtures/github-api/graphql/schema.graphql). The answers are mapped to
the dicts the REST endpoints return, so the store gets the same rows whichever way they
came (statuses: but for the two columns GraphQL cannot fill, below).

What GraphQL cannot give stays on REST (`audit.extract.capture`):

- the jobs of a re-run (`run_attempt` > 1): check runs do not say which attempt they belong
  to, and `tests.passed` judges the latest attempt, so those runs use `jobs?filter=all`;
- any connection longer than one page (more than 100 jobs, 10 approvals, 10 pull requests
  of a commit, 100 reviews or 100 statuses of a deployment): rare, and REST pages it.

Deployment statuses: `DeploymentStatus` has a node `id` but no database id and no
`target_url` (REST's deprecated copy of `log_url`). A status from GraphQL is therefore stored
without them and cited by its node id (`deployment_statuses:<node id>`); the store keys every
status by its node id, which REST gives too, so a later REST capture fills the database id in
instead of adding a row. Deployments are matched by position, like runs.

Ids: GraphQL `databaseId` is a 32-bit `Int`, which run and job ids outgrew. Runs are matched
by position (`nodes` answers in the order asked), a job's id is the last segment of its check
run's `url` (`https://github.com/{owner}/{repo}/runs/{id}`), reviews use `fullDatabaseId`.

Partial answers: GitHub answers what it can with HTTP 200, `null` where it refused, and an
`errors` entry per refusal (`type` FORBIDDEN, NOT_FOUND …, `path` to the null). A token
without `checks: read` gets a null check suite, one without `pull_requests: read` null pull
requests. A null is therefore never read as "none": every nullable field, list entry or id
that comes back null makes that piece `None` (ask REST), with the error that explains it.

Logins: GraphQL names a GitHub App's bot `dependabot` (a `Bot` actor), REST `dependabot[bot]`.
Bots get the REST form here, so the store holds one name per person whichever API answered.
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
          state comment user {{ __typename login }}
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
      number title author {{ __typename login }} state mergedAt mergeCommit {{ oid }} headRefOid baseRefName url
      reviews(first: 100) {{
        pageInfo {{ hasNextPage }}
        nodes {{ fullDatabaseId state author {{ __typename login }} submittedAt commit {{ oid }} authorAssociation }}
      }}
      labels(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ name }} }}
    }}
  }}
}}
"""

_SHA = re.compile(r"^[0-9a-f]{40}$")
_CHECK_RUN_ID = re.compile(r"/runs/(\d+)$")
_JOB_ID = re.compile(r"/job/(\d+)")


STATUSES_PER_DEPLOYMENT = 100

STATUSES_QUERY = f"""
query($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    ... on Deployment {{
      statuses(first: {STATUSES_PER_DEPLOYMENT}) {{
        totalCount
        pageInfo {{ hasNextPage }}
        nodes {{ id state createdAt updatedAt logUrl environmentUrl description creator {{ __typename login }} }}
      }}
    }}
  }}
}}
"""


class GraphQLUnavailable(Exception):
    """GitHub answered `/graphql` with 401, 403 or 404: no token, or no GraphQL API here."""


@dataclass
class RunEvidence:
    """Jobs and approvals of one run, REST-shaped; None where REST must be asked instead."""

    jobs: list[dict] | None
    approvals: list[dict] | None
    refused: str | None = None
    """GitHub's error that explains a None (e.g. "FORBIDDEN at nodes.0.checkSuite: …"), if any."""


@dataclass
class CommitPulls:
    """The pull requests of one commit, REST-shaped, with each one's reviews (None: ask REST)."""

    pulls: list[dict] | None
    reviews: dict[int, list[dict] | None] = field(default_factory=dict)
    refused: str | None = None
    """GitHub's error that explains a None, if any."""


@dataclass
class DeploymentStatuses:
    """The statuses of one deployment, REST-shaped but without `id` and `target_url` (None: ask REST)."""

    statuses: list[dict] | None
    refused: str | None = None
    """GitHub's error that explains a None, if any."""


@dataclass(frozen=True)
class Refusals:
    """The `errors` of one answer, by the path of the value each one nulled."""

    errors: tuple[dict, ...]

    def under(self, *prefix: str | int) -> str | None:
        """The first error at or below `prefix`, as "TYPE at a.b.c: message"; None if none."""
        for error in self.errors:
            path = list(error.get("path") or [])
            if path[: len(prefix)] == list(prefix):
                where = ".".join(str(step) for step in path) or "query"
                return f"{error.get('type') or 'ERROR'} at {where}: {error.get('message') or 'no message'}"
        return None


def query(client: GitHubClient, text: str, variables: dict) -> tuple[dict | None, Refusals]:
    """POST one GraphQL query through PyGithub's requester; (data, errors). Counted as one request.

    `data` is None when GitHub answered nothing at all (`data: null`, every piece refused).
    """
    requester = client.github.requester
    client.wait_for_backoff()
    try:
        headers, body = requester.requestJsonAndCheck(
            "POST", requester.graphql_url, input={"query": text, "variables": variables}
        )
    except RateLimitExceededException:
        raise
    except GithubException as error:
        client.answered(error.headers or {}, error.status)
        if error.status in (401, 403, 404):
            raise GraphQLUnavailable(f"GitHub answered HTTP {error.status} to /graphql") from None
        raise
    client.answered(headers, 200)
    body = body if isinstance(body, dict) else {}
    errors = tuple(error for error in body.get("errors") or [] if isinstance(error, dict))
    data = body.get("data")
    return (data if isinstance(data, dict) else None), Refusals(errors)


def run_evidence(client: GitHubClient, node_ids: list[str], run_attempts: list[int]) -> list[RunEvidence]:
    """Jobs and approvals of up to 100 runs, in the order asked (None pieces: ask REST)."""
    data, refusals = query(client, RUNS_QUERY, {"ids": node_ids})
    nodes = (data or {}).get("nodes")
    if not isinstance(nodes, list) or len(nodes) != len(node_ids):
        nodes = [None] * len(node_ids)
    answers = []
    for index, (node, attempt) in enumerate(zip(nodes, run_attempts, strict=True)):
        refused = refusals.under("nodes", index) or (refusals.under() if data is None else None)
        if not node:
            answers.append(RunEvidence(jobs=None, approvals=None, refused=refused))
            continue
        answers.append(RunEvidence(jobs=_jobs(node, attempt), approvals=_approvals(node), refused=refused))
    return answers


def deployment_statuses(client: GitHubClient, node_ids: list[str]) -> list[DeploymentStatuses]:
    """Statuses of up to 100 deployments, in the order asked (None pieces: ask REST)."""
    data, refusals = query(client, STATUSES_QUERY, {"ids": node_ids})
    nodes = (data or {}).get("nodes")
    if not isinstance(nodes, list) or len(nodes) != len(node_ids):
        nodes = [None] * len(node_ids)
    answers = []
    for index, node in enumerate(nodes):
        refused = refusals.under("nodes", index) or (refusals.under() if data is None else None)
        statuses = _statuses(node) if isinstance(node, dict) else None
        answers.append(DeploymentStatuses(statuses, refused))
    return answers


def commits_query(shas: list[str]) -> str:
    """One query for the pull requests of `shas`, each commit under its alias `c{index}`."""
    aliases = "\n".join(f'c{index}: object(oid: "{sha}") {{ {_COMMIT_FIELDS} }}' for index, sha in enumerate(shas))
    return f"query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ {aliases} }} }}"


def commit_pulls(client: GitHubClient, repository: str, shas: list[str]) -> dict[str, CommitPulls]:
    """Pull requests (and their reviews) of up to 100 commits of one repository."""
    owner, name = repository.split("/", 1)
    shas = [sha for sha in shas if _SHA.match(sha)]
    if not shas:
        return {}
    data, refusals = query(client, commits_query(shas), {"owner": owner, "name": name})
    repo = (data or {}).get("repository") or {}
    answers: dict[str, CommitPulls] = {}
    for index, sha in enumerate(shas):
        alias = f"c{index}"
        refused = refusals.under("repository", alias)
        if refused is None and not repo:  # the repository itself, or everything, was refused
            refused = refusals.under("repository") or refusals.under()
        nodes = _complete_nodes((repo.get(alias) or {}).get("associatedPullRequests"))
        if nodes is None:
            answers[sha] = CommitPulls(pulls=None, refused=refused)
            continue
        found = CommitPulls(pulls=[_pull(node) for node in nodes], refused=refused)
        for node in nodes:
            found.reviews[node["number"]] = _reviews(node)
        answers[sha] = found
    return answers


# -- GraphQL nodes -> REST-shaped dicts ------------------------------------------------------


def _complete_nodes(connection: dict | None) -> list[dict] | None:
    """A connection's nodes when they are all there: None if the connection is null, has a
    further page, or holds a null entry (an item GitHub could not give)."""
    if not isinstance(connection, dict):
        return None
    nodes = connection.get("nodes")
    if (connection.get("pageInfo") or {}).get("hasNextPage") is not False or not isinstance(nodes, list):
        return None
    if any(not isinstance(node, dict) for node in nodes):
        return None
    return nodes


def _jobs(node: dict, run_attempt: int | None) -> list[dict] | None:
    if (run_attempt or 1) > 1:
        return None  # check runs do not name their attempt: REST jobs?filter=all decides
    checks = _complete_nodes((node.get("checkSuite") or {}).get("checkRuns"))
    if checks is None:
        return None
    jobs = []
    for check in checks:
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
    reviews = _complete_nodes(node.get("deploymentReviews"))
    if reviews is None:
        return None
    approvals = []
    for review in reviews:
        environments = _complete_nodes(review.get("environments"))
        if environments is None or review.get("state") is None:
            return None
        approvals.append(
            {
                "state": _lower(review.get("state")),
                "comment": review.get("comment"),
                "user": _actor(review.get("user")),
                "environments": [{"name": e.get("name")} for e in environments],
            }
        )
    return approvals


def _statuses(node: dict) -> list[dict] | None:
    """A deployment's statuses newest first, as REST lists them; None when any is missing."""
    connection = node.get("statuses")
    nodes = _complete_nodes(connection)
    if nodes is None or not isinstance(connection, dict) or connection.get("totalCount") != len(nodes):
        return None
    statuses = []
    for status in nodes:
        creator = _actor(status.get("creator"))
        if not status.get("id") or not status.get("state") or not status.get("createdAt") or creator is None:
            return None
        statuses.append(
            {
                "node_id": status["id"],
                "state": _lower(status["state"]),
                "created_at": status["createdAt"],
                "updated_at": status.get("updatedAt"),
                "creator": creator,
                "description": status.get("description"),
                "log_url": status.get("logUrl"),
                "environment_url": status.get("environmentUrl"),
            }
        )
    return sorted(statuses, key=lambda status: status["created_at"], reverse=True)


def _pull(node: dict) -> dict:
    return {
        "number": node["number"],
        "title": node.get("title"),
        "user": _actor(node.get("author")),
        # REST knows open/closed only; GraphQL's MERGED is a closed pull request.
        "state": "open" if node.get("state") == "OPEN" else "closed",
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "head": {"sha": node.get("headRefOid")},
        "base": {"ref": node.get("baseRefName")},
        "html_url": node.get("url"),
        **_labels(node.get("labels")),
    }


def _reviews(pull: dict) -> list[dict] | None:
    """A pull request's reviews; None (ask REST) when any is missing or has no id."""
    nodes = _complete_nodes(pull.get("reviews"))
    if nodes is None or any(not str(node.get("fullDatabaseId") or "").isdigit() for node in nodes):
        return None
    return [_review(node) for node in nodes]


def _actor(actor: dict | None) -> dict | None:
    """A user as REST gives it: a bot's login with REST's `[bot]` suffix."""
    if not isinstance(actor, dict) or actor.get("login") is None:
        return None
    login = actor["login"]
    if actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return {"login": login}


def _labels(connection: dict | None) -> dict:
    """REST's `labels` list, or nothing (unknown) when GitHub did not give them all."""
    if not connection or (connection.get("pageInfo") or {}).get("hasNextPage"):
        return {}
    return {"labels": [{"name": node["name"]} for node in connection.get("nodes") or [] if node]}


def _review(node: dict) -> dict:
    return {
        "id": int(node["fullDatabaseId"]),
        "user": _actor(node.get("author")),
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
