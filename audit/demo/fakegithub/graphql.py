"""The fake GitHub's GraphQL endpoint (`POST /graphql`): a subset of GitHub's schema over a `World`.

Only what batched extraction asks for is served, with GitHub's own type, field, argument and
enum names (tests/fixtures/github-api/graphql/schema.graphql), executed by `graphql-core`:

- `nodes(ids: [ID!]!)` (at most 100 ids) resolving `WorkflowRun` node ids - the same
  `node_id`s the REST objects carry - with `deploymentReviews` (the `/approvals` entries) and
  `checkSuite.checkRuns(filterBy: {checkType: ALL | LATEST})` (the jobs);
- `nodes(ids:)` resolving `Deployment` node ids with their `statuses` (what
  `GET /deployments/{id}/statuses` lists, oldest first, empty after GitHub's 90-day
  retention), each status with the `id` that REST calls `node_id`;
- `repository(owner:, name:).object(oid:)` as a `Commit` with `associatedPullRequests`
  (what `GET /commits/{sha}/pulls` lists) and each pull request's `reviews`.

Ids: `databaseId` is a GraphQL `Int` (32 bits), which GitHub's run and job ids outgrew, so
querying it for one fails as it would on GitHub; pull requests and reviews also have
`fullDatabaseId` (`BigInt`, sent as a string), and a check run's id is the last segment of its
`url` (`https://github.com/{owner}/{repo}/runs/{id}`).

Connections behave like GitHub's: `first` or `last` is required, at most 100, `after`/`before`
cursors, `pageInfo` and `totalCount`. An unknown node id gives `null` in `nodes` plus an error
of type `NOT_FOUND`, as GitHub answers (HTTP 200 with `data` and `errors`).

Partial answers (`GraphQLFaults`): a field can be refused with a `FORBIDDEN` error, as GitHub
does for a token without the permission it needs (`checks: read` for check runs,
`pull_requests: read` for pull requests); GraphQL then nulls the nearest nullable parent, so a
refused `WorkflowRun.checkSuite` (non-null) nulls the whole run in `nodes`. Runs can be made
to resolve as `NOT_FOUND`, and so can deployments. Bots are `Bot` actors whose login has no `[bot]` suffix, unlike REST.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLScalarType,
    build_schema,
    default_field_resolver,
    graphql_sync,
)

from audit.demo.fakegithub.render import iso, node_id
from audit.demo.fakegithub.world import (
    Approval,
    Deployment,
    DeploymentStatus,
    Job,
    PullRequest,
    Repository,
    Review,
    WorkflowRun,
    World,
    stable_id,
)

MAX_PAGE = 100
"""GitHub's limit on `first`/`last` and on `nodes(ids:)`."""
WEB = "https://github.com"

SDL = """
scalar BigInt
scalar DateTime
scalar URI
scalar GitObjectID

interface Node { id: ID! }

interface Actor { login: String! url: URI! }

interface GitObject { id: ID! oid: GitObjectID! }

type Query {
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type User implements Node & Actor { id: ID! databaseId: Int login: String! url: URI! }
type Bot implements Node & Actor { id: ID! databaseId: Int login: String! url: URI! }

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  object(expression: String, oid: GitObjectID): GitObject
}

type Commit implements Node & GitObject {
  id: ID!
  oid: GitObjectID!
  associatedPullRequests(after: String, before: String, first: Int, last: Int): PullRequestConnection
}

type Blob implements Node & GitObject {
  id: ID!
  oid: GitObjectID!
  byteSize: Int!
  isBinary: Boolean
  text: String
}

enum PullRequestState { CLOSED MERGED OPEN }
enum PullRequestReviewState { APPROVED CHANGES_REQUESTED COMMENTED DISMISSED PENDING }
enum CommentAuthorAssociation {
  COLLABORATOR CONTRIBUTOR FIRST_TIMER FIRST_TIME_CONTRIBUTOR MANNEQUIN MEMBER NONE OWNER
}

type PullRequest implements Node {
  id: ID!
  databaseId: Int
  fullDatabaseId: BigInt
  number: Int!
  title: String!
  author: Actor
  state: PullRequestState!
  mergedAt: DateTime
  mergeCommit: Commit
  headRefOid: GitObjectID!
  headRefName: String!
  baseRefName: String!
  url: URI!
  reviews(after: String, before: String, first: Int, last: Int,
          states: [PullRequestReviewState!]): PullRequestReviewConnection
  labels(after: String, before: String, first: Int, last: Int): LabelConnection
}
type PullRequestConnection { nodes: [PullRequest] pageInfo: PageInfo! totalCount: Int! }
type Label { name: String! }
type LabelConnection { nodes: [Label] pageInfo: PageInfo! totalCount: Int! }

type PullRequestReview implements Node {
  id: ID!
  databaseId: Int
  fullDatabaseId: BigInt
  author: Actor
  state: PullRequestReviewState!
  submittedAt: DateTime
  commit: Commit
  authorAssociation: CommentAuthorAssociation!
  body: String!
}
type PullRequestReviewConnection { nodes: [PullRequestReview] pageInfo: PageInfo! totalCount: Int! }

type Workflow implements Node { id: ID! databaseId: Int name: String! }

type WorkflowRun implements Node {
  id: ID!
  databaseId: Int
  runNumber: Int!
  event: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  url: URI!
  workflow: Workflow!
  checkSuite: CheckSuite!
  deploymentReviews(after: String, before: String, first: Int, last: Int): DeploymentReviewConnection!
}

enum DeploymentReviewState { APPROVED REJECTED }

type DeploymentReview implements Node {
  id: ID!
  databaseId: Int
  comment: String!
  state: DeploymentReviewState!
  user: User!
  environments(after: String, before: String, first: Int, last: Int): EnvironmentConnection!
}
type DeploymentReviewConnection { nodes: [DeploymentReview] pageInfo: PageInfo! totalCount: Int! }

type Environment implements Node { id: ID! databaseId: Int name: String! }
type EnvironmentConnection { nodes: [Environment] pageInfo: PageInfo! totalCount: Int! }

enum CheckRunType { ALL LATEST }
enum CheckStatusState { COMPLETED IN_PROGRESS PENDING QUEUED REQUESTED WAITING }
enum CheckConclusionState {
  ACTION_REQUIRED CANCELLED FAILURE NEUTRAL SKIPPED STALE STARTUP_FAILURE SUCCESS TIMED_OUT
}

input CheckRunFilter {
  appId: Int
  checkName: String
  checkType: CheckRunType
  conclusions: [CheckConclusionState!]
  status: CheckStatusState
  statuses: [CheckStatusState!]
}

type CheckSuite implements Node {
  id: ID!
  databaseId: Int
  workflowRun: WorkflowRun
  checkRuns(after: String, before: String, first: Int, last: Int, filterBy: CheckRunFilter): CheckRunConnection
}

type CheckRun implements Node {
  id: ID!
  databaseId: Int
  name: String!
  status: CheckStatusState!
  conclusion: CheckConclusionState
  startedAt: DateTime
  completedAt: DateTime
  detailsUrl: URI
  permalink: URI!
  url: URI!
}
type CheckRunConnection { nodes: [CheckRun] pageInfo: PageInfo! totalCount: Int! }

enum DeploymentStatusState { ERROR FAILURE INACTIVE IN_PROGRESS PENDING QUEUED SUCCESS WAITING }

type Deployment implements Node {
  id: ID!
  databaseId: Int
  environment: String
  createdAt: DateTime!
  statuses(after: String, before: String, first: Int, last: Int): DeploymentStatusConnection
}

type DeploymentStatus implements Node {
  id: ID!
  state: DeploymentStatusState!
  createdAt: DateTime!
  updatedAt: DateTime!
  creator: Actor!
  description: String
  environment: String
  environmentUrl: URI
  logUrl: URI
}
type DeploymentStatusConnection { nodes: [DeploymentStatus] pageInfo: PageInfo! totalCount: Int! }
"""

_HEX_OID = re.compile(r"^[0-9a-f]{40}$")


@cache
def schema():
    built = build_schema(SDL)
    for name in ("Node", "Actor", "GitObject"):
        abstract = built.type_map[name]
        assert isinstance(abstract, GraphQLInterfaceType)
        abstract.resolve_type = lambda value, _info, _type: value.typename
    big_int = built.type_map["BigInt"]
    assert isinstance(big_int, GraphQLScalarType)
    big_int.serialize = str  # type: ignore[method-assign,assignment]  # GitHub sends BigInt as a string
    return built


FORBIDDEN_MESSAGE = "Resource not accessible by integration"


@dataclass
class GraphQLFaults:
    """Refusals a token without some permission meets on GitHub's GraphQL API."""

    forbidden: set[str] = field(default_factory=set)
    """Fields answered with a `FORBIDDEN` error, as "Type.field" (e.g. "CheckSuite.checkRuns")."""
    not_found_runs: set[int] = field(default_factory=set)
    """Run ids whose node id resolves to `null` with a `NOT_FOUND` error."""
    not_found_deployments: set[int] = field(default_factory=set)
    """Deployment ids whose node id resolves to `null` with a `NOT_FOUND` error."""

    def resolver(self):
        def resolve(source, info, **args):
            if f"{info.parent_type.name}.{info.field_name}" in self.forbidden:
                raise GraphQLError(FORBIDDEN_MESSAGE, extensions={"type": "FORBIDDEN"})
            return default_field_resolver(source, info, **args)

        return resolve


def execute(world: World, body: Any, faults: GraphQLFaults | None = None) -> dict[str, Any]:
    """Answer one GraphQL request body (`{"query", "variables"}`) as GitHub's JSON."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    faults = faults or GraphQLFaults()
    result = graphql_sync(
        schema(),
        body["query"],
        root_value=_Query(world, faults),
        variable_values=body.get("variables") or None,
        field_resolver=faults.resolver() if faults.forbidden else None,
    )
    answer: dict[str, Any] = {}
    if result.data is not None or not result.errors:
        answer["data"] = result.data
    if result.errors:
        answer["errors"] = [_error(error) for error in result.errors]
    return answer


def _error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = formatted.pop("extensions", None) or {}
    if "type" in extensions:  # GitHub puts its error type at the top level
        formatted["type"] = extensions["type"]
    return formatted


def decode_node_id(value: str) -> tuple[str, str] | None:
    """(kind, key) of a legacy-format node id (`base64("0{len}:{Kind}{key}")`), or None."""
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, sep, rest = text.partition(":")
    if not sep or not prefix.isdigit() or len(rest) <= int(prefix):
        return None
    length = int(prefix)
    return rest[:length], rest[length:]


def _not_found(value: str) -> GraphQLError:
    return GraphQLError(
        f"Could not resolve to a node with the global id of '{value}'", extensions={"type": "NOT_FOUND"}
    )


def _connection(items: list, first=None, after=None, last=None, before=None) -> dict[str, Any]:
    """A GitHub connection over `items`, with GitHub's argument rules."""
    if first is None and last is None:
        raise GraphQLError("You must provide a `first` or `last` value to properly paginate the connection.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(
                f"Requesting {value} records on the connection exceeds the `{name}` limit of {MAX_PAGE} records."
            )
    start, end = 0, len(items)
    if after is not None:
        start = _cursor_index(after) + 1
    if before is not None:
        end = min(end, _cursor_index(before))
    if first is not None:
        window = list(range(start, min(end, start + first)))
    else:
        window = list(range(max(start, end - last), end))
    return {
        "nodes": [items[i] for i in window],
        "totalCount": len(items),
        "pageInfo": {
            "startCursor": _cursor(window[0]) if window else None,
            "endCursor": _cursor(window[-1]) if window else None,
            "hasNextPage": bool(window) and window[-1] < end - 1,
            "hasPreviousPage": bool(window) and window[0] > start,
        },
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


# -- the object types, resolved by attribute (methods receive GraphQL arguments) ------------


class _Query:
    def __init__(self, world: World, faults: GraphQLFaults):
        self.world = world
        self.faults = faults

    def node(self, info, id: str):  # noqa: A002 - GraphQL argument name
        found = self._resolve(id)
        if isinstance(found, Exception):
            raise found
        return found

    def nodes(self, info, ids: list[str]):
        if len(ids) > MAX_PAGE:
            raise GraphQLError(f"You may not request more than {MAX_PAGE} ids at once.")
        return [self._resolve(value) for value in ids]

    def repository(self, info, owner: str, name: str, followRenames: bool = True):  # noqa: N803
        found = self.world.repository(owner, name)
        if found is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.", extensions={"type": "NOT_FOUND"}
            )
        return _Repository(found)

    def _resolve(self, value: str):
        decoded = decode_node_id(value)
        if decoded is None:
            return _not_found(value)
        kind, key = decoded
        if kind == "WorkflowRun" and key.isdigit() and int(key) in self.faults.not_found_runs:
            return _not_found(value)
        if kind == "WorkflowRun" and key.isdigit() and int(key) in self.world.runs:
            return _WorkflowRun(self.world.runs[int(key)])
        if kind == "Deployment" and key.isdigit() and int(key) not in self.faults.not_found_deployments:
            for repository in self.world.repositories.values():
                for deployment in repository.deployments:
                    if deployment.id == int(key):
                        return _Deployment(self.world, deployment)
        if kind == "Repository":
            for repository in self.world.repositories.values():
                if str(repository.id) == key:
                    return _Repository(repository)
        return _not_found(value)


def _actor(login: str | None):
    if login is None:
        return None
    return _Actor(login)


class _Actor:
    def __init__(self, login: str):
        self.is_bot = login.endswith("[bot]")
        # REST names a GitHub App's bot `dependabot[bot]`; GraphQL's `Bot.login` is `dependabot`.
        self.login = login.removesuffix("[bot]")
        self.typename = "Bot" if self.is_bot else "User"
        self.databaseId = stable_id("user:" + login)
        self.id = node_id(self.typename if self.is_bot else "User", self.databaseId)
        self.url = f"{WEB}/apps/{login[:-5]}" if self.is_bot else f"{WEB}/{login}"


class _Repository:
    typename = "Repository"

    def __init__(self, repository: Repository):
        self.repository = repository
        self.id = node_id("Repository", repository.id)
        self.databaseId = repository.id
        self.name = repository.name
        self.nameWithOwner = repository.full_name

    def object(self, info, oid: str | None = None, expression: str | None = None):
        if expression is not None:  # "<commit>:<path>", as `git rev-parse` reads it
            commit, _, path = expression.partition(":")
            found = self.repository.workflow_blob(commit, path) if _HEX_OID.match(commit) and path else None
            return None if found is None else _Blob(found[0], found[1])
        if oid is None or not _HEX_OID.match(oid):
            return None
        text = self.repository.blob(oid)
        return _Commit(self.repository, oid) if text is None else _Blob(oid, text)


class _Blob:
    typename = "Blob"

    def __init__(self, oid: str, text: str):
        self.oid = oid
        self.text = text
        self.byteSize = len(text.encode())
        self.isBinary = False
        self.id = base64.b64encode(f"05:Blob:{oid}".encode()).decode()


class _Commit:
    typename = "Commit"

    def __init__(self, repository: Repository, oid: str):
        self.repository = repository
        self.oid = oid
        self.id = base64.b64encode(f"06:Commit{repository.id}:{oid}".encode()).decode()

    def associatedPullRequests(self, info, **page):  # noqa: N802 - GitHub's field name
        pulls = self.repository.pulls_for_commit(self.oid)
        return _connection([_PullRequest(self.repository, pull) for pull in pulls], **page)


class _PullRequest:
    typename = "PullRequest"

    def __init__(self, repository: Repository, pull: PullRequest):
        self.repository = repository
        self.pull = pull
        self.id = node_id("PullRequest", pull.id)
        self.databaseId = self.fullDatabaseId = pull.id
        self.number = pull.number
        self.title = pull.title
        self.author = _actor(pull.user)
        self.state = "MERGED" if pull.merged_at else ("CLOSED" if pull.state == "closed" else "OPEN")
        self.mergedAt = iso(pull.merged_at)
        self.mergeCommit = _Commit(repository, pull.merge_commit_sha) if pull.merge_commit_sha else None
        self.headRefOid = pull.head_sha
        self.headRefName = pull.head_ref
        self.baseRefName = pull.base_ref
        self.url = f"{WEB}/{repository.full_name}/pull/{pull.number}"

    def reviews(self, info, states: list[str] | None = None, **page):
        reviews = [r for r in self.pull.reviews if states is None or r.state in states]
        return _connection([_Review(self.repository, review) for review in reviews], **page)

    def labels(self, info, **page):
        return _connection([{"name": name} for name in self.pull.labels], **page)


class _Review:
    typename = "PullRequestReview"

    def __init__(self, repository: Repository, review: Review):
        self.id = node_id("PullRequestReview", review.id)
        self.databaseId = self.fullDatabaseId = review.id
        self.author = _actor(review.user)
        self.state = review.state
        self.submittedAt = iso(review.submitted_at)
        self.commit = _Commit(repository, review.commit_id) if review.commit_id else None
        self.authorAssociation = "MEMBER"
        self.body = review.body


class _WorkflowRun:
    typename = "WorkflowRun"

    def __init__(self, run: WorkflowRun):
        self.run = run
        self.id = node_id("WorkflowRun", run.id)
        self.databaseId = run.id
        self.runNumber = run.run_number
        self.event = run.event
        self.createdAt = iso(run.created_at)
        self.updatedAt = iso(run.updated_at)
        self.url = run.html_url
        self.workflow = {
            "id": node_id("Workflow", run.workflow.id),
            "databaseId": run.workflow.id,
            "name": run.workflow.name,
        }

    def checkSuite(self, info):  # noqa: N802 - GitHub's field name
        return _CheckSuite(self.run)

    def deploymentReviews(self, info, **page):  # noqa: N802 - GitHub's field name
        reviews = [_DeploymentReview(self.run, seq, approval) for seq, approval in enumerate(self.run.approvals)]
        return _connection(reviews, **page)


class _DeploymentReview:
    typename = "DeploymentReview"

    def __init__(self, run: WorkflowRun, seq: int, approval: Approval):
        self.run = run
        self.approval = approval
        self.databaseId = stable_id(f"deployment-review:{run.id}:{seq}")
        self.id = node_id("DeploymentReview", self.databaseId)
        self.comment = approval.comment
        self.state = approval.state.upper()
        self.user = _Actor(approval.user)

    def environments(self, info, **page):
        known = self.run.repository.environments
        # Like the REST `/approvals` answer: environments deleted since are not listed.
        names = [name for name in self.approval.environments if name in known]
        nodes = [
            {"id": node_id("Environment", known[name].id), "databaseId": known[name].id, "name": name} for name in names
        ]
        return _connection(nodes, **page)


class _CheckSuite:
    typename = "CheckSuite"

    def __init__(self, run: WorkflowRun):
        self.run = run
        self.id = node_id("CheckSuite", run.check_suite_id)
        self.databaseId = run.check_suite_id
        self.workflowRun = _WorkflowRun(run)

    def checkRuns(self, info, filterBy: dict | None = None, **page):  # noqa: N802, N803 - GitHub's names
        filters = filterBy or {}
        # LATEST (GitHub's default) keeps the latest check run of each name: the latest attempt's jobs.
        jobs = self.run.jobs if filters.get("checkType") == "ALL" else self.run.jobs_of_attempt()
        jobs = sorted(jobs, key=lambda j: (j.run_attempt, j.id))
        if filters.get("checkName"):
            jobs = [j for j in jobs if j.name == filters["checkName"]]
        wanted = set(filters.get("statuses") or []) | ({filters["status"]} if filters.get("status") else set())
        if wanted:
            jobs = [j for j in jobs if j.status.upper() in wanted]
        if filters.get("conclusions"):
            jobs = [j for j in jobs if (j.conclusion or "").upper() in filters["conclusions"]]
        return _connection([_CheckRun(self.run, job) for job in jobs], **page)


class _CheckRun:
    typename = "CheckRun"

    def __init__(self, run: WorkflowRun, job: Job):
        self.id = node_id("CheckRun", job.id)
        self.databaseId = job.id
        self.name = job.name
        self.status = job.status.upper()
        self.conclusion = job.conclusion.upper() if job.conclusion else None
        self.startedAt = iso(job.started_at)
        self.completedAt = iso(job.completed_at)
        self.detailsUrl = run.job_html_url(job)
        self.permalink = self.url = f"{WEB}/{run.repository.full_name}/runs/{job.id}"


class _Deployment:
    typename = "Deployment"

    def __init__(self, world: World, deployment: Deployment):
        self.world = world
        self.deployment = deployment
        self.id = node_id("Deployment", deployment.id)
        self.databaseId = deployment.id
        self.environment = deployment.environment
        self.createdAt = iso(deployment.created_at)

    def statuses(self, info, **page):
        statuses = []
        if self.world.statuses_retained(self.deployment):
            statuses = sorted(self.deployment.statuses, key=lambda s: (s.created_at, s.id))
        return _connection([_DeploymentStatus(self.deployment, status) for status in statuses], **page)


class _DeploymentStatus:
    typename = "DeploymentStatus"

    def __init__(self, deployment: Deployment, status: DeploymentStatus):
        self.id = node_id("DeploymentStatus", status.id)
        self.state = status.state.upper()
        self.createdAt = self.updatedAt = iso(status.created_at)
        self.creator = _Actor(deployment.creator)
        self.description = status.description
        self.environment = deployment.environment
        self.environmentUrl = ""
        self.logUrl = status.log_url
