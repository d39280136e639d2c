"""The built-in demo organisation `acme-fintech`, served by the fake GitHub in demo mode.

Deterministic: every random choice comes from `random.Random` seeded with `DEMO_SEED` and a
string naming what is being chosen (per day, per deployment), never the wall clock, so two
builds give identical JSON and identical artifact zip bytes.

Repositories
    `acme-fintech/payments-api` (default branch `main`): `deploy.yml` runs jobs
    `test (3.11)`, `test (3.12)`, `security-scan`, `deploy-staging`, `deploy-production`;
    scan artifacts `bandit-report`, `pip-audit`, `codeql-results` (SARIF) plus `coverage`
    (not evidence). Production: required reviewers team `payments-release` (4 people),
    `prevent_self_review` true, custom branch policy. Code scanning enabled.

    `acme-fintech/ledger` (default branch `trunk`): jobs `test`, `security-scan`,
    `deploy-staging`, `deploy-production`; artifacts `bandit-report`, `pip-audit`,
    `coverage`. Production: team `ledger-approvers` (5 people, including developer
    `kim-nguyen`), `prevent_self_review` false. Code scanning not enabled (403).

Time line
    Production deployments all through 2024 (weekdays 1-4 a day in working hours, weekends
    sometimes one), about 170 per repository per quarter; each is the `push` (sometimes
    `workflow_dispatch`) run of `deploy.yml` on the merge commit of a pull request, plus the
    PR's `pull_request` CI runs (`ci.yml`: test + security-scan). `as_of` defaults to
    2024-07-01T06:00Z; anything not finished by then is left out. With that default, the
    runs of 2024-04-01 (three per repository) are older than 90 days: their artifacts
    answer 410 and their deployment statuses `[]` - the evidence a quarter-end extraction
    has already lost.

A normal deployment
    PR by A, approved by B on the final head, merged by A or C (merge commit = the run's
    `head_sha`); the push run (actor A or C) tests, scans, deploys to staging, then waits
    for production: statuses `waiting` -> (5-60 min) `queued` -> `in_progress` ->
    `success`; the environment approval is by D, a release-team member other than A, B, C.

Exceptions (in every quarter, on deterministic positions; each run carries its labels in
`WorkflowRun.tags`, and `demo_exceptions(world)` lists them). Per repository and quarter:

==========================  ==========  =====================================================
tag                         count       what it breaks
==========================  ==========  =====================================================
`no-pr`                     3 + 3       pushed straight to the default branch:
                                        `change.reviewed`, `deploy.dual_control`
`approval-withdrawn`        2 + 2       B approved, then requested changes: `change.reviewed`
`approval-dismissed`        2 + 2       B's only approval was dismissed: `change.reviewed`
`approved-earlier-commit`   3 + 3       approval on an earlier commit of the PR: still passes
`deploy-rejected`           3 + 3       production approval rejected: statuses `waiting` ->
                                        `failure`, deploy job `failure` that never ran
                                        (started = completed); outcome `rejected`: `deploy.approved`
`self-approval`             0 + 4       (ledger) the run's actor approved its own production
                                        deployment: `deploy.independent`, dual control
`rerun`                     2 + 2       attempt 2 re-run by another developer
                                        (`triggering_actor` != `actor`): passes
`rerun-self-approved`       2 + 2       re-run by a release-team member who then approved
                                        it: `deploy.independent`
`slow-approval`             3 + 3       approved 3-5 hours after the request: `deploy.timely`
`tests-failed`              3 + 3       a test job failed, the deploy still ran:
                                        `tests.passed`
`no-test-job`               2 + 2       the run had no test job: `tests.passed`
`bandit-high`               3 + 3       bandit HIGH finding (B602): `scan.clean`
`sarif-critical`            3 + 0       (payments-api) CodeQL result with security-severity
                                        9.1: `scan.clean`
`pip-audit-vuln`            0 + 3       (ledger) jinja2 3.1.2 with GHSA-h5c8-rqwp-cp95:
                                        `scan.clean`
`no-scan-artifact`          3 + 3       security-scan job succeeded, no scan artifact:
                                        `scan.clean` passes on the job conclusion only
`hotfix-branch`             3 + 3       deployed from `hotfix/...` (PR still open):
                                        `deploy.from_main`, `change.reviewed`
`bot-triggered`             3 + 3       dependabot[bot] PR and run actor: passes
`deploy-failed`             3 + 3       the production deploy job failed (outcome `failure`)
`expired`                   (3 + 3)     the first day of the quarter, with the default
                                        `as_of` only 2024Q2's: `evidence.retained`,
                                        `scan.clean`/`deploy.timely` not available
==========================  ==========  =====================================================

Normal runs also carry below-threshold findings (bandit LOW B101, SARIF medium) now and then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from audit.demo.fakegithub.server import FakeGitHub
from audit.demo.fakegithub.world import Repository, Team, WorkflowRun, World, fake_sha
from audit.times import iso_z

DEMO_ORGANIZATION = "acme-fintech"
DEMO_REPOSITORIES = ("acme-fintech/payments-api", "acme-fintech/ledger")
DEMO_AS_OF = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)
DEMO_SEED = 20240701
DEMO_YEAR = 2024
DEMO_RATE_LIMIT = 15_000
"""Requests per hour (GitHub's limit for an Enterprise Cloud installation token): one demo
server answers a whole year's extraction without making the caller wait an hour."""

_LONGEST_DEPLOYMENT = timedelta(hours=8)
"""Upper bound of a slot's duration: slots that would not be finished by `as_of` are left out."""


@dataclass(frozen=True)
class _RepoSpec:
    full_name: str
    default_branch: str
    developers: tuple[str, ...]
    approvers: tuple[str, ...]
    team: str
    prevent_self_review: bool
    test_jobs: tuple[str, ...]
    codeql: bool
    exceptions: dict[str, int]


_COMMON_EXCEPTIONS = {
    "no-pr": 3,
    "approval-withdrawn": 2,
    "approval-dismissed": 2,
    "approved-earlier-commit": 3,
    "deploy-rejected": 3,
    "rerun": 2,
    "rerun-self-approved": 2,
    "slow-approval": 3,
    "tests-failed": 3,
    "no-test-job": 2,
    "bandit-high": 3,
    "no-scan-artifact": 3,
    "hotfix-branch": 3,
    "bot-triggered": 3,
    "deploy-failed": 3,
}

_SPECS = (
    _RepoSpec(
        full_name="acme-fintech/payments-api",
        default_branch="main",
        developers=("alice-chen", "bob-okafor", "carol-diaz", "dan-kowalski", "erin-walsh"),
        approvers=("grace-lee", "hiro-tanaka", "ines-moreau", "jamal-wright"),
        team="payments-release",
        prevent_self_review=True,
        test_jobs=("test (3.11)", "test (3.12)"),
        codeql=True,
        exceptions={**_COMMON_EXCEPTIONS, "sarif-critical": 3},
    ),
    _RepoSpec(
        full_name="acme-fintech/ledger",
        default_branch="trunk",
        developers=("kim-nguyen", "liam-byrne", "maya-patel", "noah-fischer", "olga-ivanova"),
        approvers=("paul-mensah", "quinn-avery", "rosa-lopez", "sam-berg", "kim-nguyen"),
        team="ledger-approvers",
        prevent_self_review=False,
        test_jobs=("test",),
        codeql=False,
        exceptions={**_COMMON_EXCEPTIONS, "self-approval": 4, "pip-audit-vuln": 3},
    ),
)

_SELF_APPROVER = "kim-nguyen"
"""A ledger developer who is also in `ledger-approvers` (the environment allows self-review)."""

_BOT = "dependabot[bot]"


def build_demo_world(as_of: datetime | None = None) -> World:
    """The demo organisation as seen at `as_of` (default 2024-07-01T06:00Z). Fast (< 1 s)."""
    as_of = as_of or DEMO_AS_OF
    world = World(as_of=as_of, organization=DEMO_ORGANIZATION)
    world.audit_log = _audit_log(world)
    repos = {spec.full_name: _add_repository(world, spec) for spec in _SPECS}
    slots = sorted(
        ((moment, spec.full_name, index) for spec in _SPECS for index, moment in enumerate(_slot_times(spec))),
    )
    tags = {spec.full_name: _assign_tags(spec) for spec in _SPECS}
    specs = {spec.full_name: spec for spec in _SPECS}
    for moment, full_name, index in slots:
        if moment + _LONGEST_DEPLOYMENT > as_of:
            continue
        spec = specs[full_name]
        _add_deployment(
            repos[full_name],
            spec,
            moment,
            index,
            tags[full_name].get(index, ()),
        )
    return world


def start_demo_server(as_of: datetime | None = None, **options: object) -> FakeGitHub:
    """Build the demo world and serve it on 127.0.0.1 (started; call `.stop()` when done)."""
    options.setdefault("rate_limit", DEMO_RATE_LIMIT)
    return FakeGitHub(build_demo_world(as_of), **options).start()  # type: ignore[arg-type]


def demo_exceptions(world: World) -> dict[str, list[tuple[str, int]]]:
    """Scenario tag -> [(repository, run id)] of the runs built to break a control."""
    found: dict[str, list[tuple[str, int]]] = {}
    for repo in world.repositories.values():
        for run in repo.runs_newest_first()[::-1]:
            for tag in run.tags:
                found.setdefault(tag, []).append((repo.full_name, run.id))
    return found


# ------------------------------------------------------------------ structure


def _add_repository(world: World, spec: _RepoSpec) -> Repository:
    repo = world.add_repository(
        spec.full_name,
        default_branch=spec.default_branch,
        private=True,
        created_at=datetime(2021, 9, 14, 10, 0, tzinfo=UTC),
        description=f"acme-fintech {spec.full_name.split('/')[1]} service",
    )
    repo.add_environment("staging")
    repo.add_environment(
        "production",
        teams=[Team(spec.team, spec.team.replace("-", " ").title(), list(spec.approvers))],
        prevent_self_review=spec.prevent_self_review,
        deployment_branch_policy=(
            {"protected_branches": False, "custom_branch_policies": True} if spec.codeql else None
        ),
    )
    repo.add_workflow("deploy.yml", "Deploy")
    repo.add_workflow("ci.yml", "CI")
    repo.code_scanning.enabled = spec.codeql
    _add_settings(repo, spec)
    return repo


# ------------------------------------------------------------------ settings in force

OIDC_FROM = {"acme-fintech/payments-api": datetime(2024, 5, 13, tzinfo=UTC)}
"""When a repository's deploy workflow moved from long-lived secrets to OIDC (ledger never did)."""

PROTECTION_WEAKENED = (
    datetime(2024, 5, 6, 9, 14, tzinfo=UTC),
    datetime(2024, 5, 20, 17, 2, tzinfo=UTC),
)
"""payments-api's default branch required no approving review between these two moments."""


def _add_settings(repo: Repository, spec: _RepoSpec) -> None:
    """Branch protection (payments-api) or a ruleset (ledger), and the deploy workflow's versions."""
    checks = [*spec.test_jobs, "security-scan"]
    if spec.codeql:
        repo.branch_protection = {
            "required_approving_review_count": 1,
            "dismiss_stale_reviews": True,
            "contexts": checks,
            "enforce_admins": True,
        }
    else:
        source = {"ruleset_source_type": "Repository", "ruleset_source": spec.full_name, "ruleset_id": 4107}
        repo.branch_rules = [
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": False,
                    "require_code_owner_review": False,
                    "require_last_push_approval": False,
                    "required_review_thread_resolution": False,
                },
                **source,
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [{"context": check} for check in checks],
                },
                **source,
            },
        ]
    path = ".github/workflows/deploy.yml"
    versions = [(repo.created_at, _deploy_workflow(spec, oidc=False))]
    if spec.full_name in OIDC_FROM:
        versions.append((OIDC_FROM[spec.full_name], _deploy_workflow(spec, oidc=True)))
    repo.workflow_files[path] = versions


def _deploy_workflow(spec: _RepoSpec, *, oidc: bool) -> str:
    """The deploy workflow's text: cloud credentials from OIDC or from repository secrets."""
    service = spec.full_name.split("/")[1]
    credentials = (
        "    permissions:\n      contents: read\n      id-token: write\n"
        "    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n"
        f"          role-to-assume: arn:aws:iam::123456789012:role/{service}-deploy\n"
        "          role-session-name: GitHubActions-${{ github.run_id }}\n"
        "          aws-region: eu-west-1\n"
        if oidc
        else "    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n"
        "          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n"
        "          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n"
        "          aws-region: eu-west-1\n"
    )
    tests = "".join(
        f"  {name.replace(' ', '-').replace('(', '').replace(')', '').replace('.', '')}:\n"
        f"    name: {name}\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
        for name in spec.test_jobs
    )
    return (
        "name: Deploy\non:\n  push:\n    branches: [" + spec.default_branch + ", 'hotfix/**']\n"
        "  workflow_dispatch:\npermissions:\n  contents: read\njobs:\n"
        + tests
        + "  security-scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make scan\n"
        "  deploy-staging:\n    runs-on: ubuntu-latest\n    environment: staging\n"
        "    steps:\n      - run: ./deploy.sh staging\n"
        "  deploy-production:\n    needs: [deploy-staging]\n    runs-on: ubuntu-latest\n"
        "    environment: production\n"
        + credentials
        + "      - run: aws sts get-caller-identity\n      - run: ./deploy.sh production\n"
    )


def _audit_log(world: World) -> list[dict]:
    """The organisation audit log (Enterprise): the two-week weakening of payments-api's
    protection, and an earlier routine update that records the protection in full."""
    settings = {
        "dismiss_stale_reviews_on_push": True,
        "admin_enforced": True,
        "required_status_checks_enforcement_level": "non_admins",
        "required_status_checks": ["test (3.11)", "test (3.12)", "security-scan"],
    }
    changes = [
        (datetime(2024, 1, 8, 10, 31, tzinfo=UTC), "erin-walsh", 1, "non_admins"),
        (PROTECTION_WEAKENED[0], "dan-kowalski", 0, "off"),
        (PROTECTION_WEAKENED[1], "grace-lee", 1, "non_admins"),
    ]
    events = []
    for index, (moment, actor, count, level) in enumerate(changes):
        millis = int(moment.timestamp() * 1000)
        events.append(
            {
                "@timestamp": millis,
                "created_at": millis,
                "_document_id": f"demo-audit-{index + 1:04d}",
                "action": "protected_branch.update",
                "actor": actor,
                "org": world.organization,
                "repo": "acme-fintech/payments-api",
                "name": "main",
                "required_approving_review_count": count,
                "pull_request_reviews_enforcement_level": level,
                **settings,
            }
        )
    return events


def _slot_times(spec: _RepoSpec) -> list[datetime]:
    """Deployment times for the whole year: weekdays 1-4, weekends sometimes one."""
    times: list[datetime] = []
    day = date(DEMO_YEAR, 1, 1)
    while day.year == DEMO_YEAR:
        rng = random.Random(f"{DEMO_SEED}:{spec.full_name}:day:{day.isoformat()}")
        if day.month in (1, 4, 7, 10) and day.day == 1:
            count = 3  # the first day of a quarter: the runs that expire first
        elif day.weekday() < 5:
            count = rng.randint(1, 4)
        else:
            count = 1 if rng.random() < 0.3 else 0
        minutes = sorted(rng.sample(range(8 * 60, 18 * 60), count))
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        times.extend(start + timedelta(minutes=m, seconds=rng.randrange(60)) for m in minutes)
        day += timedelta(days=1)
    return times


def _assign_tags(spec: _RepoSpec) -> dict[int, tuple[str, ...]]:
    """Slot index -> tags: each quarter gets `spec.exceptions` on distinct positions, away
    from the quarter's first week; the first day's slots are tagged `expired`."""
    times = _slot_times(spec)
    assigned: dict[int, tuple[str, ...]] = {}
    for quarter in range(4):
        first = date(DEMO_YEAR, quarter * 3 + 1, 1)
        in_quarter = [i for i, t in enumerate(times) if (t.month - 1) // 3 == quarter]
        for i in in_quarter:
            if times[i].date() == first:
                assigned[i] = ("expired",)
        eligible = [i for i in in_quarter if times[i].date() >= first + timedelta(days=7)]
        rng = random.Random(f"{DEMO_SEED}:{spec.full_name}:tags:Q{quarter + 1}")
        wanted = [tag for tag, count in spec.exceptions.items() for _ in range(count)]
        for index, tag in zip(rng.sample(eligible, len(wanted)), wanted, strict=True):
            assigned[index] = (tag,)
    return assigned


# ------------------------------------------------------------------ one deployment


def _add_deployment(repo: Repository, spec: _RepoSpec, merged_at: datetime, index: int, tags: tuple[str, ...]) -> None:
    rng = random.Random(f"{DEMO_SEED}:{spec.full_name}:deployment:{index}")
    tag = tags[0] if tags else ""
    author, reviewer, other = rng.sample(spec.developers, 3)
    approvers = [a for a in spec.approvers if a not in (author, reviewer, other)]
    approver = rng.choice(approvers)
    pusher = author if rng.random() < 0.5 else other
    number = index + 1
    sha = fake_sha(spec.full_name, "merge", number)
    head_branch = spec.default_branch
    title = rng.choice(_TITLES).format(n=number)

    if tag == "bot-triggered":
        author = pusher = _BOT
        title = f"Bump {rng.choice(_PACKAGES)} in the pip group"
    if tag == "self-approval":
        author, reviewer = [d for d in (author, reviewer, other) if d != _SELF_APPROVER][:2]
        pusher = approver = _SELF_APPROVER
    if tag == "hotfix-branch":
        head_branch = f"hotfix/{title.split()[0].lower()}-{number}"

    if tag != "no-pr":
        sha = _add_pull(repo, spec, rng, tag, number, title, author, reviewer, merged_at, sha, head_branch)
    else:
        pusher = author
        title = f"{title} (direct push)"

    event = "workflow_dispatch" if not tag and rng.random() < 0.1 else "push"
    created = merged_at + timedelta(seconds=rng.randint(3, 20))
    run = repo.add_run(
        head_sha=sha,
        head_branch=head_branch,
        actor=pusher,
        created_at=created,
        workflow="deploy.yml",
        event=event,
        display_title=title,
    )
    run.tags.extend(tags)
    if tag in ("rerun", "rerun-self-approved"):
        _attempt(run, repo, spec, rng, tag, created, approver, final=False)
        rerunner = (
            rng.choice([a for a in spec.approvers if a not in (approver, pusher, author)])
            if tag == "rerun-self-approved"
            else rng.choice([d for d in spec.developers if d not in (pusher, author, approver)])
        )
        run.run_attempt = 2
        run.triggering_actor = rerunner
        restart = run.updated_at + timedelta(minutes=rng.randint(10, 40))
        run.run_started_at = restart
        second_approver = rerunner if tag == "rerun-self-approved" else approver
        _attempt(run, repo, spec, rng, tag, restart, second_approver, final=True)
    else:
        _attempt(run, repo, spec, rng, tag, created, approver, final=True)
    if spec.codeql:
        repo.code_scanning.analyses.append(_codeql_analysis(run, tag))


def _add_pull(
    repo: Repository,
    spec: _RepoSpec,
    rng: random.Random,
    tag: str,
    number: int,
    title: str,
    author: str,
    reviewer: str,
    merged_at: datetime,
    merge_sha: str,
    head_branch: str,
) -> str:
    """Add the PR (and its CI runs, reviews); return the SHA that gets deployed."""
    opened = merged_at - timedelta(minutes=rng.randint(90, 3 * 24 * 60))
    head = fake_sha(spec.full_name, "head", number)
    commits = [head]
    if tag == "approved-earlier-commit":
        commits.insert(0, fake_sha(spec.full_name, "earlier", number))
    hotfix = tag == "hotfix-branch"
    if hotfix:
        # The hotfix branch itself is deployed; its PR into the default branch is still open.
        pull = repo.add_pull(
            user=author,
            head_sha=head,
            created_at=opened,
            title=title,
            head_ref=head_branch,
            commits=commits,
        )
    else:
        pull = repo.add_pull(
            user=author,
            head_sha=head,
            created_at=opened,
            title=title,
            head_ref=_branch_name(author, title, number),
            merged_at=merged_at,
            merge_commit_sha=merge_sha,
            commits=commits,
        )
    pushed = opened
    for commit in commits:
        _add_ci_run(repo, spec, rng, pull.head_ref, commit, author, pushed, title)
        pushed += timedelta(minutes=rng.randint(20, 60))
    review_at = merged_at - timedelta(minutes=rng.randint(10, 80))
    if rng.random() < 0.3:
        commenter = rng.choice([d for d in spec.developers if d not in (author, reviewer)])
        pull.add_review(
            commenter,
            "COMMENTED",
            submitted_at=review_at - timedelta(minutes=5),
            body="A couple of nits, otherwise fine.",
        )
    if tag == "approval-withdrawn":
        pull.add_review(reviewer, "APPROVED", submitted_at=review_at - timedelta(minutes=20))
        pull.add_review(
            reviewer, "CHANGES_REQUESTED", submitted_at=review_at, body="Wait - this breaks the settlement batch."
        )
    elif tag == "approval-dismissed":
        pull.add_review(reviewer, "DISMISSED", submitted_at=review_at, body="LGTM")
    elif tag == "approved-earlier-commit":
        pull.add_review(reviewer, "APPROVED", submitted_at=review_at - timedelta(minutes=30), commit_id=commits[0])
    elif hotfix:
        _review_emergency(pull, spec, reviewer, number, merged_at, review_at)
    else:
        pull.add_review(reviewer, "APPROVED", submitted_at=review_at)
    return head if hotfix else merge_sha


EMERGENCY_REVIEWS = ("before", "after", "late", "never")
"""How a hotfix's pull request is reviewed, in turn by PR number: before deploying, within
the 3-day window after it, a week after it (late), or never."""


def _review_emergency(pull, spec: _RepoSpec, reviewer: str, number: int, deployed: datetime, before: datetime) -> None:
    """The hotfix PR's review (`change.emergency_reviewed`), from its own random stream so
    every other run of the demo stays as it was. A review due after `as_of` has not happened."""
    rng = random.Random(f"{DEMO_SEED}:{spec.full_name}:emergency:{number}")
    kind = EMERGENCY_REVIEWS[number % len(EMERGENCY_REVIEWS)]
    if kind == "before":
        pull.add_review(reviewer, "APPROVED", submitted_at=before)
        return
    if kind == "never":
        state, moment = "COMMENTED", deployed + timedelta(hours=rng.randint(2, 20))
    else:
        state = "APPROVED"
        moment = deployed + (
            timedelta(hours=rng.randint(4, 60)) if kind == "after" else timedelta(days=rng.randint(6, 9))
        )
    if moment <= pull.world.as_of:
        pull.add_review(reviewer, state, submitted_at=moment, body="Post-incident review")


def _add_ci_run(
    repo: Repository,
    spec: _RepoSpec,
    rng: random.Random,
    branch: str,
    sha: str,
    author: str,
    at: datetime,
    title: str,
) -> None:
    run = repo.add_run(
        head_sha=sha,
        head_branch=branch,
        actor=author,
        created_at=at,
        workflow="ci.yml",
        event="pull_request",
        updated_at=at + timedelta(minutes=6),
        display_title=title,
    )
    for name in spec.test_jobs:
        run.add_job(name, started_at=at + timedelta(seconds=20), completed_at=at + timedelta(minutes=rng.randint(3, 5)))
    run.add_job("security-scan", started_at=at + timedelta(seconds=25), completed_at=at + timedelta(minutes=3))


def _attempt(
    run: WorkflowRun,
    repo: Repository,
    spec: _RepoSpec,
    rng: random.Random,
    tag: str,
    start: datetime,
    approver: str,
    *,
    final: bool,
) -> None:
    """One attempt of the deploy workflow: jobs, deployments, approval, artifacts."""
    at = start + timedelta(seconds=15)
    tests_done = at + timedelta(minutes=rng.randint(3, 6))
    failed_test = rng.choice(spec.test_jobs) if tag == "tests-failed" else None
    if tag != "no-test-job":
        for name in spec.test_jobs:
            run.add_job(
                name, started_at=at, completed_at=tests_done, conclusion="failure" if name == failed_test else "success"
            )
    scan_done = at + timedelta(minutes=rng.randint(2, 4))
    run.add_job("security-scan", started_at=at, completed_at=scan_done)
    if final:
        _add_artifacts(run, spec, rng, tag, scan_done)

    staging_start = tests_done + timedelta(seconds=10)
    staging = run.add_job(
        "deploy-staging",
        started_at=staging_start,
        completed_at=staging_start + timedelta(minutes=2),
        environment="staging",
    )
    repo.add_deployment(
        run,
        staging,
        environment="staging",
        statuses=[
            ("queued", staging_start - timedelta(seconds=5)),
            ("in_progress", staging_start),
            ("success", staging_start + timedelta(minutes=2)),
        ],
    )

    requested = staging_start + timedelta(minutes=2, seconds=10)
    delay = rng.randint(180, 300) if tag == "slow-approval" else rng.randint(5, 60)
    decided = requested + timedelta(minutes=delay, seconds=rng.randrange(60))
    if tag == "deploy-rejected":
        # GitHub closes a rejected job at the decision, with started_at == completed_at.
        production = run.add_job(
            "deploy-production",
            started_at=decided,
            completed_at=decided,
            conclusion="failure",
            created_at=requested,
            environment="production",
        )
        run.add_approval(approver, "rejected", comment="Not during the month-end close.")
        repo.add_deployment(
            run,
            production,
            environment="production",
            statuses=[
                ("waiting", requested),
                ("failure", decided),
            ],
        )
        run.conclusion = "failure"
        run.updated_at = decided
        return
    failed = tag == "deploy-failed" or (tag.startswith("rerun") and not final)
    started = decided + timedelta(seconds=12)
    finished = started + timedelta(minutes=rng.randint(2, 5))
    production = run.add_job(
        "deploy-production",
        started_at=started,
        completed_at=finished,
        conclusion="failure" if failed else "success",
        created_at=requested,
        environment="production",
    )
    run.add_approval(approver, comment=rng.choice(_APPROVAL_COMMENTS))
    repo.add_deployment(
        run,
        production,
        environment="production",
        statuses=[
            ("waiting", requested),
            ("queued", decided),
            ("in_progress", started),
            ("failure" if failed else "success", finished),
        ],
    )
    run.updated_at = finished
    run.conclusion = "failure" if failed or failed_test else "success"


# ------------------------------------------------------------------ scan reports


def _add_artifacts(run: WorkflowRun, spec: _RepoSpec, rng: random.Random, tag: str, at: datetime) -> None:
    if tag != "no-scan-artifact":
        run.add_artifact("bandit-report", {"bandit-report.json": _bandit(run, rng, tag)}, created_at=at)
        run.add_artifact("pip-audit", {"pip-audit.json": _pip_audit(tag)}, created_at=at)
        if spec.codeql:
            run.add_artifact("codeql-results", {"python.sarif": _sarif(rng, tag)}, created_at=at)
    coverage = f'<?xml version="1.0" ?>\n<coverage line-rate="0.{rng.randint(78, 93)}" />\n'
    run.add_artifact("coverage", {"coverage.xml": coverage}, created_at=at)


def _bandit(run: WorkflowRun, rng: random.Random, tag: str) -> dict:
    results = []
    if tag == "bandit-high":
        results.append(
            {
                "code": '41     cmd = f"pg_dump {db}"\n42     subprocess.Popen(cmd, shell=True)\n',
                "col_offset": 4,
                "end_col_offset": 38,
                "filename": "app/backup.py",
                "issue_confidence": "HIGH",
                "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
                "issue_severity": "HIGH",
                "issue_text": "subprocess call with shell=True identified, security issue.",
                "line_number": 42,
                "line_range": [42],
                "more_info": "https://bandit.readthedocs.io/en/1.7.9/plugins/"
                "b602_subprocess_popen_with_shell_equals_true.html",
                "test_id": "B602",
                "test_name": "subprocess_popen_with_shell_equals_true",
            }
        )
    elif rng.random() < 0.2:
        results.append(
            {
                "code": "12     assert amount >= 0\n",
                "col_offset": 4,
                "end_col_offset": 22,
                "filename": "app/ledger.py",
                "issue_confidence": "HIGH",
                "issue_cwe": {"id": 703, "link": "https://cwe.mitre.org/data/definitions/703.html"},
                "issue_severity": "LOW",
                "issue_text": "Use of assert detected. The enclosed code will be removed when "
                "compiling to optimised byte code.",
                "line_number": 12,
                "line_range": [12],
                "more_info": "https://bandit.readthedocs.io/en/1.7.9/plugins/b101_assert_used.html",
                "test_id": "B101",
                "test_name": "assert_used",
            }
        )
    totals = {
        f"{kind}.{level}": 0 for kind in ("CONFIDENCE", "SEVERITY") for level in ("HIGH", "LOW", "MEDIUM", "UNDEFINED")
    }
    for result in results:
        totals[f"SEVERITY.{result['issue_severity']}"] += 1
        totals[f"CONFIDENCE.{result['issue_confidence']}"] += 1
    totals.update(loc=4210, nosec=0, skipped_tests=0)
    return {
        "errors": [],
        "generated_at": iso_z(run.created_at),
        "metrics": {"_totals": totals},
        "results": results,
    }


def _pip_audit(tag: str) -> dict:
    dependencies: list[dict[str, Any]] = [
        {"name": "fastapi", "version": "0.110.0", "vulns": []},
        {"name": "jinja2", "version": "3.1.2" if tag == "pip-audit-vuln" else "3.1.4", "vulns": []},
        {"name": "sqlalchemy", "version": "2.0.29", "vulns": []},
        {"name": "requests", "version": "2.32.3", "vulns": []},
    ]
    if tag == "pip-audit-vuln":
        dependencies[1]["vulns"] = [
            {
                "id": "GHSA-h5c8-rqwp-cp95",
                "fix_versions": ["3.1.3"],
                "aliases": ["CVE-2024-22195"],
                "description": "The `xmlattr` filter in affected versions of Jinja accepts keys "
                "containing spaces, allowing attribute injection (XSS).",
            }
        ]
    return {"dependencies": dependencies, "fixes": []}


def _sarif(rng: random.Random, tag: str) -> dict:
    rules = [
        {"id": "py/sql-injection", "properties": {"security-severity": "8.8"}},
        {"id": "py/clear-text-logging-sensitive-data", "properties": {"security-severity": "7.5"}},
        {"id": "py/stack-trace-exposure", "properties": {"security-severity": "5.4"}},
        {"id": "py/weak-sensitive-data-hashing", "properties": {"security-severity": "9.1"}},
    ]
    results = []
    if tag == "sarif-critical":
        results.append(
            _sarif_result(
                "py/weak-sensitive-data-hashing",
                "error",
                "Sensitive data (password) is hashed with MD5.",
                "app/auth.py",
                27,
            )
        )
    elif rng.random() < 0.25:
        results.append(
            _sarif_result(
                "py/stack-trace-exposure",
                "warning",
                "Stack trace information flows to this location.",
                "app/errors.py",
                14,
            )
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "CodeQL", "semanticVersion": "2.17.6", "rules": rules}},
                "results": results,
            }
        ],
    }


def _sarif_result(rule: str, level: str, text: str, uri: str, line: int) -> dict:
    return {
        "ruleId": rule,
        "level": level,
        "message": {"text": text},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}],
    }


def _codeql_analysis(run: WorkflowRun, tag: str) -> dict:
    return {
        "ref": f"refs/heads/{run.head_branch}",
        "commit_sha": run.head_sha,
        "analysis_key": ".github/workflows/deploy.yml:security-scan",
        "environment": '{"language":"python"}',
        "error": "",
        "category": ".github/workflows/deploy.yml:security-scan/language:python",
        "created_at": iso_z(run.created_at),
        "results_count": 1 if tag == "sarif-critical" else 0,
        "rules_count": 4,
        "id": run.id % 10_000_000,
        "sarif_id": fake_sha("sarif", run.id)[:36],
        "tool": {"name": "CodeQL", "guid": None, "version": "2.17.6"},
        "deletable": True,
        "warning": "",
    }


def _branch_name(author: str, title: str, number: int) -> str:
    if author.endswith("[bot]"):
        return f"dependabot/pip/{title.split()[1]}-{number}"
    return f"{author.split('-')[0]}/{title.split()[0].lower()}-{number}"


_TITLES = (
    "Add idempotency keys to refunds (#{n})",
    "Fix rounding in FX conversion (#{n})",
    "Tighten webhook signature checks (#{n})",
    "Speed up settlement report query (#{n})",
    "Upgrade FastAPI and pydantic (#{n})",
    "Log correlation ids on payouts (#{n})",
    "Refactor ledger posting service (#{n})",
    "Handle partial captures (#{n})",
    "Retry transient bank API errors (#{n})",
    "Add audit trail for manual adjustments (#{n})",
)
_PACKAGES = ("requests", "sqlalchemy", "cryptography", "uvicorn", "pydantic")
_APPROVAL_COMMENTS = ("", "", "LGTM, ship it", "Approved after checking the change ticket", "OK for production")
