"""The fake GitHub's world: plain, mutable dataclasses for one organisation's repositories.

The server (`audit.demo.fakegithub.server`) renders these into GitHub's JSON; this module knows
nothing about HTTP. Build a world by hand with the factory methods::

    world = World(as_of=datetime(2024, 7, 1, tzinfo=UTC))
    repo = world.add_repository("acme/app", default_branch="main")
    repo.add_environment("production", reviewers=["dana"], prevent_self_review=True)
    run = repo.add_run(head_sha="a" * 40, actor="alice", created_at=...)
    deploy = run.add_job("deploy", started_at=..., completed_at=...)
    run.add_approval("dana", environments=["production"])
    repo.add_deployment(run, deploy, environment="production",
                        statuses=[("waiting", t0), ("queued", t1), ("success", t2)])

or generate a large one with `synthetic_world(deployments=2500)`.

Retention (as GitHub does it, relative to `World.as_of`): an artifact expires
`artifact_retention_days` (default 90) after it was created; a deployment's status history
is gone `status_retention_days` (default 90) after the deployment was created.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

ZIP_DATE_TIME = (2024, 1, 1, 0, 0, 0)
"""Fixed timestamp inside every artifact zip, so that the bytes are deterministic."""

GITHUB_ACTIONS_BOT = "github-actions[bot]"
"""The creator of every deployment and deployment status made by GitHub Actions."""


def stable_id(text: str, *, base: int = 1_000_000) -> int:
    """A deterministic positive integer id derived from `text` (used for users and teams)."""
    return base + int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 90_000_000


def fake_sha(*parts: object) -> str:
    """A deterministic 40-hex commit SHA derived from `parts`."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()


def make_zip(files: dict[str, bytes]) -> bytes:
    """A zip archive with a fixed date_time per entry: same input, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass
class Team:
    """An organisation team that can be an environment reviewer."""

    slug: str
    name: str | None = None
    members: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return stable_id("team:" + self.slug, base=100)


@dataclass
class Environment:
    """A deployment environment and its protection rules (current configuration only)."""

    name: str
    id: int
    created_at: datetime
    reviewers: list[str] = field(default_factory=list)
    """Logins of required reviewers (users)."""
    teams: list[Team] = field(default_factory=list)
    """Teams among the required reviewers."""
    prevent_self_review: bool = False
    wait_timer: int = 0
    """Minutes; 0 means no wait-timer rule."""
    deployment_branch_policy: dict[str, bool] | None = None
    """`{"protected_branches": bool, "custom_branch_policies": bool}` or None (any branch)."""

    @property
    def has_required_reviewers(self) -> bool:
        return bool(self.reviewers or self.teams)


@dataclass
class Step:
    """One step of a job."""

    name: str
    number: int
    status: str = "completed"
    conclusion: str | None = "success"
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class Job:
    """One job of one run attempt."""

    id: int
    name: str
    run_attempt: int
    created_at: datetime
    status: str = "completed"
    conclusion: str | None = "success"
    started_at: datetime | None = None
    """None when the job never started (e.g. its environment approval was rejected)."""
    completed_at: datetime | None = None
    steps: list[Step] | None = None
    """None: the server renders `default_steps` from the job's times."""
    environment: str | None = None
    """The environment the job targets, if any (not served by GitHub's jobs API)."""


@dataclass
class Approval:
    """An entry of `GET /actions/runs/{id}/approvals` (GitHub gives it no timestamp)."""

    user: str
    state: str = "approved"
    """`approved` or `rejected`."""
    environments: list[str] = field(default_factory=lambda: ["production"])
    comment: str = ""


@dataclass
class Artifact:
    """A workflow-run artifact: a zip holding `files`, built lazily and cached."""

    id: int
    run_id: int
    name: str
    created_at: datetime
    files: dict[str, Any]
    """File name -> bytes, str, or a JSON-serialisable object."""
    retention_days: int = 90

    @property
    def expires_at(self) -> datetime:
        return self.created_at + timedelta(days=self.retention_days)

    def is_expired(self, as_of: datetime) -> bool:
        return as_of >= self.expires_at

    @cached_property
    def data(self) -> bytes:
        """The zip bytes."""
        encoded: dict[str, bytes] = {}
        for name, content in self.files.items():
            if isinstance(content, bytes):
                encoded[name] = content
            elif isinstance(content, str):
                encoded[name] = content.encode()
            else:
                encoded[name] = json.dumps(content, indent=2, sort_keys=True).encode()
        return make_zip(encoded)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass
class DeploymentStatus:
    """One status of a deployment."""

    id: int
    state: str
    """error, failure, inactive, pending, success, queued, in_progress or waiting."""
    created_at: datetime
    target_url: str = ""
    log_url: str = ""
    description: str = ""


@dataclass
class Deployment:
    """A deployment, as GitHub Actions creates one for a job with an `environment:`."""

    id: int
    sha: str
    ref: str
    environment: str
    created_at: datetime
    task: str = "deploy"
    creator: str = GITHUB_ACTIONS_BOT
    run_id: int | None = None
    job_id: int | None = None
    statuses: list[DeploymentStatus] = field(default_factory=list)
    """Chronological (the server serves them newest first)."""
    production_environment: bool = False


@dataclass
class Review:
    """A pull-request review."""

    id: int
    user: str
    state: str
    """APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED."""
    submitted_at: datetime
    commit_id: str
    body: str = ""


@dataclass
class PullRequest:
    """A pull request and its reviews."""

    number: int
    id: int
    user: str
    title: str
    head_sha: str
    head_ref: str
    base_ref: str
    created_at: datetime
    state: str = "closed"
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    commits: list[str] = field(default_factory=list)
    """Every SHA this PR relates to for `GET /commits/{sha}/pulls` (heads and merge commit)."""
    reviews: list[Review] = field(default_factory=list)
    """Chronological."""
    labels: list[str] = field(default_factory=list)
    """Label names, e.g. `emergency`."""
    world: World | None = field(default=None, repr=False, compare=False)

    def add_review(
        self,
        user: str,
        state: str = "APPROVED",
        *,
        submitted_at: datetime,
        commit_id: str | None = None,
        body: str = "",
    ) -> Review:
        """Add a review (defaults to an approval of the final head)."""
        assert self.world is not None
        review = Review(
            id=self.world.next_id("review"),
            user=user,
            state=state,
            submitted_at=submitted_at,
            commit_id=commit_id or self.head_sha,
            body=body,
        )
        self.reviews.append(review)
        self.reviews.sort(key=lambda r: (r.submitted_at, r.id))
        return review


@dataclass
class Workflow:
    """A workflow file of a repository."""

    id: int
    name: str
    path: str
    """e.g. `.github/workflows/deploy.yml`."""
    run_count: int = 0
    """Runs created so far (the next run's `run_number` - 1)."""


@dataclass
class WorkflowRun:
    """A workflow run (its latest attempt) with jobs of every attempt, approvals, artifacts."""

    id: int
    repository: Repository = field(repr=False, compare=False)
    workflow: Workflow
    run_number: int
    head_sha: str
    head_branch: str | None
    actor: str
    triggering_actor: str
    created_at: datetime
    updated_at: datetime
    run_started_at: datetime
    event: str = "push"
    status: str = "completed"
    conclusion: str | None = "success"
    run_attempt: int = 1
    display_title: str = ""
    check_suite_id: int = 0
    jobs: list[Job] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    pending_environments: list[str] = field(default_factory=list)
    """Environments this run waits on (status `waiting`) for `pending_deployments`."""
    tags: list[str] = field(default_factory=list)
    """Scenario labels, not served: e.g. which control the demo built this run to break."""

    def add_job(
        self,
        name: str,
        *,
        started_at: datetime | None,
        completed_at: datetime | None = None,
        conclusion: str | None = "success",
        status: str = "completed",
        run_attempt: int | None = None,
        created_at: datetime | None = None,
        environment: str | None = None,
        steps: list[Step] | None = None,
    ) -> Job:
        """Add a job to an attempt (default: the latest); steps are generated if not given."""
        world = self.repository.world
        if completed_at is None and started_at is not None and status == "completed":
            completed_at = started_at + timedelta(minutes=2)
        job = Job(
            id=world.next_id("job"),
            name=name,
            run_attempt=run_attempt or self.run_attempt,
            created_at=created_at or started_at or self.run_started_at,
            status=status,
            conclusion=conclusion,
            started_at=started_at,
            completed_at=completed_at,
            steps=steps,
            environment=environment,
        )
        self.jobs.append(job)
        return job

    def add_approval(
        self,
        user: str,
        state: str = "approved",
        *,
        environments: list[str] | None = None,
        comment: str = "",
    ) -> Approval:
        approval = Approval(
            user=user,
            state=state,
            environments=list(environments or ["production"]),
            comment=comment,
        )
        self.approvals.append(approval)
        return approval

    def add_artifact(
        self,
        name: str,
        files: dict[str, Any],
        *,
        created_at: datetime | None = None,
        retention_days: int = 90,
    ) -> Artifact:
        world = self.repository.world
        artifact = Artifact(
            id=world.next_id("artifact"),
            run_id=self.id,
            name=name,
            created_at=created_at or self.updated_at,
            files=files,
            retention_days=retention_days,
        )
        self.artifacts.append(artifact)
        world.artifacts[artifact.id] = (self.repository, artifact)
        return artifact

    def jobs_of_attempt(self, attempt: int | None = None) -> list[Job]:
        wanted = attempt or self.run_attempt
        return [job for job in self.jobs if job.run_attempt == wanted]

    @property
    def html_url(self) -> str:
        return f"https://github.com/{self.repository.full_name}/actions/runs/{self.id}"

    def job_html_url(self, job: Job) -> str:
        return f"{self.html_url}/job/{job.id}"


@dataclass
class CodeScanning:
    """Code-scanning state of a repository: disabled (403) or a list of analyses."""

    enabled: bool = False
    analyses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Repository:
    """A repository with its environments, workflows, runs, deployments and pull requests."""

    owner: str
    name: str
    id: int
    default_branch: str
    private: bool
    created_at: datetime
    world: World = field(repr=False, compare=False)
    description: str = ""
    environments: dict[str, Environment] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    code_scanning: CodeScanning = field(default_factory=CodeScanning)
    branch_protection: dict[str, Any] | None = None
    """The default branch's classic protection as `GET .../branches/{b}/protection` answers; None: 404."""
    branch_rules: list[dict[str, Any]] = field(default_factory=list)
    """Ruleset rules applying to the default branch (`GET .../rules/branches/{b}`)."""
    workflow_files: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    """Workflow path -> [(from when, file text)], oldest first: what each commit holds."""
    commit_dates: dict[str, datetime] = field(default_factory=dict)
    """When each commit a run was created for was made (its first run's creation)."""
    _pulls_by_sha: dict[str, list[PullRequest]] = field(default_factory=dict, repr=False)
    _runs_sorted: list[WorkflowRun] | None = field(default=None, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def add_environment(
        self,
        name: str,
        *,
        reviewers: list[str] | None = None,
        teams: list[Team] | None = None,
        prevent_self_review: bool = False,
        wait_timer: int = 0,
        deployment_branch_policy: dict[str, bool] | None = None,
        created_at: datetime | None = None,
    ) -> Environment:
        environment = Environment(
            name=name,
            id=self.world.next_id("environment"),
            created_at=created_at or self.created_at,
            reviewers=list(reviewers or []),
            teams=list(teams or []),
            prevent_self_review=prevent_self_review,
            wait_timer=wait_timer,
            deployment_branch_policy=deployment_branch_policy,
        )
        self.environments[name] = environment
        return environment

    def add_workflow(self, path: str, name: str | None = None) -> Workflow:
        """Register a workflow by its path (`.github/workflows/x.yml`) or return the existing one."""
        if not path.startswith(".github/"):
            path = f".github/workflows/{path}"
        if path not in self.workflows:
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            self.workflows[path] = Workflow(id=self.world.next_id("workflow"), name=name or stem.title(), path=path)
        return self.workflows[path]

    def add_run(
        self,
        *,
        head_sha: str,
        actor: str,
        created_at: datetime,
        head_branch: str | None = None,
        triggering_actor: str | None = None,
        workflow: str = "deploy.yml",
        workflow_name: str | None = None,
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        run_attempt: int = 1,
        updated_at: datetime | None = None,
        run_started_at: datetime | None = None,
        display_title: str = "",
        run_id: int | None = None,
    ) -> WorkflowRun:
        """Add a workflow run; `head_branch` defaults to the default branch."""
        wf = self.add_workflow(workflow, workflow_name)
        wf.run_count += 1
        run = WorkflowRun(
            id=run_id or self.world.next_id("run"),
            repository=self,
            workflow=wf,
            run_number=wf.run_count,
            head_sha=head_sha,
            head_branch=head_branch if head_branch is not None else self.default_branch,
            actor=actor,
            triggering_actor=triggering_actor or actor,
            created_at=created_at,
            updated_at=updated_at or created_at + timedelta(minutes=10),
            run_started_at=run_started_at or created_at,
            event=event,
            status=status,
            conclusion=conclusion,
            run_attempt=run_attempt,
            display_title=display_title or f"{wf.name} {head_sha[:7]}",
            check_suite_id=self.world.next_id("check_suite"),
        )
        self.commit_dates.setdefault(head_sha, created_at)
        self.runs[run.id] = run
        self._runs_sorted = None
        self.world.runs[run.id] = run
        return run

    def add_deployment(
        self,
        run: WorkflowRun,
        job: Job | None,
        *,
        environment: str,
        statuses: Sequence[tuple[str, datetime]] = (),
        created_at: datetime | None = None,
    ) -> Deployment:
        """Add a deployment created by Actions for `run`'s `job`, linked as GitHub links them.

        `statuses` is chronological `(state, created_at)`; a `waiting` status points at the
        run, every other status at the job.
        """
        world = self.world
        first = statuses[0][1] if statuses else None
        deployment = Deployment(
            id=world.next_id("deployment"),
            sha=run.head_sha,
            ref=run.head_branch or run.head_sha,
            environment=environment,
            created_at=created_at or first or run.run_started_at,
            run_id=run.id,
            job_id=job.id if job else None,
            production_environment=environment.lower() == "production",
        )
        for state, at in statuses:
            deployment.statuses.append(self.make_status(run, job, state, at))
        self.deployments.append(deployment)
        return deployment

    def make_status(self, run: WorkflowRun, job: Job | None, state: str, created_at: datetime) -> DeploymentStatus:
        target = run.html_url if state == "waiting" or job is None else run.job_html_url(job)
        return DeploymentStatus(
            id=self.world.next_id("deployment_status"),
            state=state,
            created_at=created_at,
            target_url=target,
            log_url=target,
            description=_STATUS_DESCRIPTIONS.get(state, ""),
        )

    def add_pull(
        self,
        *,
        user: str,
        head_sha: str,
        created_at: datetime,
        title: str = "",
        head_ref: str | None = None,
        base_ref: str | None = None,
        merged_at: datetime | None = None,
        merge_commit_sha: str | None = None,
        commits: list[str] | None = None,
        number: int | None = None,
    ) -> PullRequest:
        """Add a pull request; merged when `merged_at` is given. Indexed by its SHAs."""
        number = number or (max(self.pulls, default=0) + 1)
        related = list(commits or [head_sha])
        if head_sha not in related:
            related.append(head_sha)
        if merge_commit_sha and merge_commit_sha not in related:
            related.append(merge_commit_sha)
        pull = PullRequest(
            number=number,
            id=self.world.next_id("pull"),
            user=user,
            title=title or f"Change {number}",
            head_sha=head_sha,
            head_ref=head_ref or f"feature/change-{number}",
            base_ref=base_ref or self.default_branch,
            created_at=created_at,
            state="closed" if merged_at else "open",
            merged_at=merged_at,
            merge_commit_sha=merge_commit_sha,
            closed_at=merged_at,
            commits=related,
            world=self.world,
        )
        self.pulls[number] = pull
        for sha in related:
            self._pulls_by_sha.setdefault(sha, []).append(pull)
        return pull

    def workflow_blob(self, sha: str, path: str) -> tuple[str, str] | None:
        """(blob SHA, text) of the workflow file `path` at commit `sha`; None when absent."""
        moment = self.commit_dates.get(sha)
        versions = [text for since, text in self.workflow_files.get(path, []) if moment and since <= moment]
        if not versions:
            return None
        text = versions[-1]
        return git_blob_sha(text), text

    def blob(self, blob_sha: str) -> str | None:
        """The text of a workflow blob by its SHA."""
        for versions in self.workflow_files.values():
            for _, text in versions:
                if git_blob_sha(text) == blob_sha:
                    return text
        return None

    def pulls_for_commit(self, sha: str) -> list[PullRequest]:
        return list(self._pulls_by_sha.get(sha, []))

    def runs_newest_first(self) -> list[WorkflowRun]:
        if self._runs_sorted is None:
            self._runs_sorted = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        return self._runs_sorted

    def find_workflow(self, ident: str) -> Workflow | None:
        for workflow in self.workflows.values():
            if ident == str(workflow.id) or ident == workflow.path.rsplit("/", 1)[-1]:
                return workflow
        return None


@dataclass
class World:
    """An organisation as the fake GitHub serves it, seen at time `as_of`."""

    as_of: datetime
    organization: str = "acme"
    status_retention_days: int = 90
    repositories: dict[str, Repository] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    artifacts: dict[int, tuple[Repository, Artifact]] = field(default_factory=dict)
    audit_log: list[dict[str, Any]] | None = None
    """The organisation's audit log events (GitHub Enterprise), oldest first; None: not readable (404)."""
    _counters: dict[str, int] = field(default_factory=dict, repr=False)

    _ID_BASES = {
        "repository": 700_000_000,
        "run": 9_000_000_000,
        "job": 25_000_000_000,
        "artifact": 1_400_000_000,
        "deployment": 1_300_000_000,
        "deployment_status": 2_600_000_000,
        "pull": 1_800_000_000,
        "review": 2_000_000_000,
        "environment": 160_000_000,
        "workflow": 80_000_000,
        "check_suite": 21_000_000_000,
    }

    def next_id(self, kind: str) -> int:
        """The next id of `kind` (deterministic: a counter from a per-kind base)."""
        value = self._counters.get(kind, self._ID_BASES.get(kind, 1))
        self._counters[kind] = value + 1
        return value

    def add_repository(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = True,
        created_at: datetime | None = None,
        description: str = "",
    ) -> Repository:
        owner, _, name = full_name.partition("/")
        repository = Repository(
            owner=owner,
            name=name,
            id=self.next_id("repository"),
            default_branch=default_branch,
            private=private,
            created_at=created_at or datetime(2021, 3, 1, tzinfo=UTC),
            world=self,
            description=description,
        )
        self.repositories[full_name.lower()] = repository
        return repository

    def repository(self, owner: str, name: str) -> Repository | None:
        """Look a repository up, case-insensitively as GitHub does."""
        return self.repositories.get(f"{owner}/{name}".lower())

    def statuses_retained(self, deployment: Deployment) -> bool:
        return self.as_of - deployment.created_at < timedelta(days=self.status_retention_days)


_STATUS_DESCRIPTIONS = {
    "waiting": "Waiting for review",
    "queued": "Deployment queued",
    "in_progress": "Deployment in progress",
    "success": "Deployment finished successfully.",
    "failure": "Deployment failed",
    "error": "Deployment errored",
    "inactive": "Deployment superseded",
}


def git_blob_sha(text: str) -> str:
    """Git's object id of a file with this text (`git hash-object`)."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def default_steps(job: Job) -> list[Step]:
    """Set up, checkout, the job's own step and completion, spread over the job's run time."""
    name, started_at, completed_at = job.name, job.started_at, job.completed_at
    conclusion, status = job.conclusion, job.status
    if started_at is None or status in ("waiting", "queued", "pending"):
        return []
    end = completed_at or started_at
    middle = started_at + (end - started_at) / 2
    return [
        Step("Set up job", 1, "completed", "success", started_at, started_at),
        Step("Run actions/checkout@v4", 2, "completed", "success", started_at, middle),
        Step(f"Run {name}", 3, status, conclusion, middle, completed_at),
        Step("Complete job", 4, status, conclusion, completed_at, completed_at),
    ]


def synthetic_world(
    *,
    deployments: int = 2500,
    repositories: int = 1,
    seed: int = 1,
    start: datetime = datetime(2024, 4, 1, tzinfo=UTC),
    days: int = 91,
    as_of: datetime | None = None,
    organization: str = "synthetic",
    artifacts: bool = True,
) -> World:
    """A large uniform world for scale tests: `deployments` clean production deployments per
    repository spread over `days` from `start`, each a push run with test and deploy jobs, a
    merged approved PR, an environment approval and (optionally) artifacts: a bandit report
    per run (its own bytes: it names the commit) and, for about half of the runs, a coverage
    report that is not scan evidence - so about 1.5 artifact downloads per deployment.

    `as_of` defaults to one day after the period, so nothing is expired.
    """
    rng = random.Random(seed)
    as_of = as_of or start + timedelta(days=days + 1)
    world = World(as_of=as_of, organization=organization)
    people = [f"dev{i:02d}" for i in range(12)]
    reviewers = ["rev-a", "rev-b", "rev-c", "rev-d"]
    span = days * 86400
    bandit_clean = {"errors": [], "generated_at": "", "metrics": {}, "results": []}
    for index in range(repositories):
        repo = world.add_repository(f"{organization}/service-{index:03d}")
        repo.add_environment("production", reviewers=reviewers, prevent_self_review=True)
        offsets = sorted(rng.randrange(span) for _ in range(deployments))
        for number, offset in enumerate(offsets, start=1):
            created = start + timedelta(seconds=offset)
            author, pusher = rng.sample(people, 2)
            pr_reviewer, approver = rng.sample(reviewers, 2)
            sha = fake_sha(repo.full_name, number)
            pull = repo.add_pull(
                user=author,
                head_sha=fake_sha(repo.full_name, number, "head"),
                created_at=created - timedelta(hours=3),
                merged_at=created - timedelta(minutes=1),
                merge_commit_sha=sha,
                number=number,
            )
            pull.add_review(pr_reviewer, submitted_at=created - timedelta(hours=1))
            run = repo.add_run(
                head_sha=sha,
                actor=pusher,
                created_at=created,
                updated_at=created + timedelta(minutes=30),
            )
            run.add_job(
                "test",
                started_at=created + timedelta(minutes=1),
                completed_at=created + timedelta(minutes=4),
            )
            requested = created + timedelta(minutes=5)
            approved = requested + timedelta(minutes=rng.randint(5, 60))
            deploy = run.add_job(
                "deploy-production",
                started_at=approved + timedelta(seconds=20),
                completed_at=approved + timedelta(minutes=3),
                environment="production",
                created_at=requested,
            )
            run.add_approval(approver)
            repo.add_deployment(
                run,
                deploy,
                environment="production",
                statuses=[
                    ("waiting", requested),
                    ("queued", approved),
                    ("in_progress", approved + timedelta(seconds=20)),
                    ("success", approved + timedelta(minutes=3)),
                ],
            )
            if artifacts:
                run.add_artifact(
                    "bandit-report",
                    {"bandit-report.json": {**bandit_clean, "generated_at": f"{created:%Y-%m-%dT%H:%M:%SZ} {sha}"}},
                    created_at=created + timedelta(minutes=4),
                )
                if rng.random() < 0.5:
                    run.add_artifact(
                        "coverage",
                        {"coverage.xml": f'<coverage line-rate="0.9" version="{sha}"/>'},
                        created_at=created + timedelta(minutes=4),
                    )
    return world
