"""World objects -> GitHub REST JSON, each built from GitHub's own example object.

Every renderer starts from the example in `examples/` (GitHub's OpenAPI examples, MIT) and
overrides the fields the world knows. API URLs (`url`, `*_url`) point at the fake server's
`base_url`; `html_url` points at `https://github.com/...`, as on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from audit.demo.fakegithub.world import (
    Approval,
    Artifact,
    Deployment,
    DeploymentStatus,
    Environment,
    Job,
    PullRequest,
    Repository,
    Review,
    Team,
    WorkflowRun,
    World,
    default_steps,
    fake_sha,
    stable_id,
)
from audit.times import iso_z

GITHUB_API = "https://api.github.com"
GITHUB_WEB = "https://github.com"


@cache
def _example_text(name: str) -> str:
    return resources.files("audit.demo.fakegithub").joinpath("examples", f"{name}.json").read_text()


def example(name: str) -> Any:
    """A fresh copy of GitHub's example object `name` (e.g. `workflow-run`)."""
    return json.loads(_example_text(name))


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp format: `2024-04-02T09:15:00Z`."""
    return iso_z(moment) if moment is not None else None


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def _retarget(value: Any, replacements: tuple[tuple[str, str], ...]) -> Any:
    """Apply string replacements to every string inside `value` (used on URL templates)."""
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _retarget(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_retarget(item, replacements) for item in value]
    return value


@cache
def _user_template() -> dict[str, Any]:
    return example("workflow-run")["actor"]


def user(login: str, base_url: str, *, kind: str | None = None) -> dict[str, Any]:
    """A simple-user object; logins ending in `[bot]` are of type Bot."""
    template = _user_template()
    is_bot = login.endswith("[bot]")
    uid = stable_id("user:" + login)
    obj = {
        key: value.replace(GITHUB_API, base_url).replace("octocat", login) if isinstance(value, str) else value
        for key, value in template.items()
    }
    obj.update(
        login=login,
        id=uid,
        node_id=node_id("User", uid),
        avatar_url=f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        html_url=f"{GITHUB_WEB}/apps/{login[:-5]}" if is_bot else f"{GITHUB_WEB}/{login}",
        type=kind or ("Bot" if is_bot else "User"),
        site_admin=False,
    )
    return obj


def team(value: Team, world: World, base_url: str) -> dict[str, Any]:
    obj = example("environment")["protection_rules"][1]["reviewers"][1]["reviewer"]
    org = world.organization
    obj.update(
        id=value.id,
        node_id=node_id("Team", value.id),
        url=f"{base_url}/organizations/{stable_id('org:' + org)}/team/{value.id}",
        html_url=f"{GITHUB_WEB}/orgs/{org}/teams/{value.slug}",
        name=value.name or value.slug,
        slug=value.slug,
        description=f"{value.name or value.slug} team",
        privacy="closed",
        permission="pull",
        members_url=f"{base_url}/organizations/{stable_id('org:' + org)}/team/{value.id}/members{{/member}}",
        repositories_url=f"{base_url}/organizations/{stable_id('org:' + org)}/team/{value.id}/repos",
        parent=None,
        # The examples lack `type`, which the `team` schema requires (see endpoints.md).
        type="organization",
    )
    return obj


def _repo_replacements(repo: Repository, base_url: str) -> tuple[tuple[str, str], ...]:
    return (
        (GITHUB_API, base_url),
        ("octocat/Hello-World", repo.full_name),
        ("octo-org/octo-repo", repo.full_name),
    )


def repository(repo: Repository, base_url: str, *, minimal: bool = False) -> dict[str, Any]:
    """A repository (full) or minimal-repository object."""
    if minimal:
        template = example("workflow-run")["repository"]
    else:
        template = example("pull-request-simple-items")[0]["head"]["repo"]
    obj = _retarget(template, _repo_replacements(repo, base_url))
    obj.update(
        id=repo.id,
        node_id=node_id("Repository", repo.id),
        name=repo.name,
        full_name=repo.full_name,
        owner=user(repo.owner, base_url, kind="Organization"),
        private=repo.private,
        html_url=f"{GITHUB_WEB}/{repo.full_name}",
        description=repo.description or None,
        fork=False,
        url=f"{base_url}/repos/{repo.full_name}",
        git_url=f"git://github.com/{repo.full_name}.git",
        ssh_url=f"git@github.com:{repo.full_name}.git",
        clone_url=f"{GITHUB_WEB}/{repo.full_name}.git",
        svn_url=f"{GITHUB_WEB}/{repo.full_name}",
        mirror_url=None,
        hooks_url=f"{base_url}/repos/{repo.full_name}/hooks",
        homepage=None,
    )
    if not minimal:
        obj.update(
            default_branch=repo.default_branch,
            visibility="private" if repo.private else "public",
            created_at=iso(repo.created_at),
            updated_at=iso(repo.world.as_of),
            pushed_at=iso(repo.world.as_of),
            topics=[],
            is_template=False,
            template_repository=None,
            language="Python",
        )
        obj.pop("temp_clone_token", None)
    return obj


def workflow_run(run: WorkflowRun, base_url: str, *, exclude_pull_requests: bool = False) -> dict[str, Any]:
    repo = run.repository
    api = f"{base_url}/repos/{repo.full_name}"
    obj = example("workflow-run")
    minimal = repository(repo, base_url, minimal=True)
    obj.update(
        id=run.id,
        name=run.workflow.name,
        node_id=node_id("WorkflowRun", run.id),
        check_suite_id=run.check_suite_id,
        check_suite_node_id=node_id("CheckSuite", run.check_suite_id),
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        path=run.workflow.path,
        run_number=run.run_number,
        event=run.event,
        display_title=run.display_title,
        status=run.status,
        conclusion=run.conclusion,
        workflow_id=run.workflow.id,
        url=f"{api}/actions/runs/{run.id}",
        html_url=run.html_url,
        pull_requests=[],
        created_at=iso(run.created_at),
        updated_at=iso(run.updated_at),
        actor=user(run.actor, base_url),
        run_attempt=run.run_attempt,
        referenced_workflows=[],
        run_started_at=iso(run.run_started_at),
        triggering_actor=user(run.triggering_actor, base_url),
        jobs_url=f"{api}/actions/runs/{run.id}/jobs",
        logs_url=f"{api}/actions/runs/{run.id}/logs",
        check_suite_url=f"{api}/check-suites/{run.check_suite_id}",
        artifacts_url=f"{api}/actions/runs/{run.id}/artifacts",
        cancel_url=f"{api}/actions/runs/{run.id}/cancel",
        rerun_url=f"{api}/actions/runs/{run.id}/rerun",
        previous_attempt_url=(
            f"{api}/actions/runs/{run.id}/attempts/{run.run_attempt - 1}" if run.run_attempt > 1 else None
        ),
        workflow_url=f"{api}/actions/workflows/{run.workflow.id}",
        head_commit={
            "id": run.head_sha,
            "tree_id": fake_sha("tree", run.head_sha),
            "message": run.display_title,
            "timestamp": iso(run.created_at),
            "author": {"name": run.actor, "email": f"{run.actor}@users.noreply.github.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        repository=minimal,
        head_repository=minimal,
    )
    if exclude_pull_requests:
        obj["pull_requests"] = []
    return obj


def job(run: WorkflowRun, value: Job, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{run.repository.full_name}"
    obj = example("job")
    obj.update(
        id=value.id,
        run_id=run.id,
        run_url=f"{api}/actions/runs/{run.id}",
        run_attempt=value.run_attempt,
        node_id=node_id("CheckRun", value.id),
        head_sha=run.head_sha,
        url=f"{api}/actions/jobs/{value.id}",
        html_url=run.job_html_url(value),
        status=value.status,
        conclusion=value.conclusion,
        # The examples lack `created_at`, which the `job` schema requires (see endpoints.md).
        created_at=iso(value.created_at),
        started_at=iso(value.started_at),
        completed_at=iso(value.completed_at),
        name=value.name,
        steps=[
            {
                "name": step.name,
                "status": step.status,
                "conclusion": step.conclusion,
                "number": step.number,
                "started_at": iso(step.started_at),
                "completed_at": iso(step.completed_at),
            }
            for step in (value.steps if value.steps is not None else default_steps(value))
        ],
        check_run_url=f"{api}/check-runs/{value.id}",
        labels=["ubuntu-latest"],
        runner_id=(value.id % 100) + 1 if value.started_at else None,
        runner_name="GitHub Actions 1" if value.started_at else None,
        runner_group_id=1 if value.started_at else None,
        runner_group_name="GitHub Actions" if value.started_at else None,
        workflow_name=run.workflow.name,
        head_branch=run.head_branch,
    )
    return obj


def check_run(run: WorkflowRun, value: Job, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{run.repository.full_name}"
    obj = _retarget(example("check-run"), ((GITHUB_API, base_url),))
    obj.update(
        id=value.id,
        head_sha=run.head_sha,
        node_id=node_id("CheckRun", value.id),
        external_id="",
        url=f"{api}/check-runs/{value.id}",
        html_url=run.job_html_url(value),
        details_url=run.job_html_url(value),
        status=value.status,
        conclusion=value.conclusion,
        started_at=iso(value.started_at or value.created_at),
        completed_at=iso(value.completed_at),
        name=value.name,
        check_suite={"id": run.check_suite_id},
        pull_requests=[],
    )
    obj["output"] = {
        "title": None,
        "summary": None,
        "text": None,
        "annotations_count": 0,
        "annotations_url": f"{api}/check-runs/{value.id}/annotations",
    }
    obj.pop("deployment", None)
    return obj


def _environment_fields(repo: Repository, env: Environment, base_url: str) -> dict[str, Any]:
    encoded = env.name.replace("/", "%2F")
    return {
        "id": env.id,
        "node_id": node_id("Environment", env.id),
        "name": env.name,
        "url": f"{base_url}/repos/{repo.full_name}/environments/{encoded}",
        "html_url": (f"{GITHUB_WEB}/{repo.full_name}/deployments/activity_log?environments_filter={encoded}"),
    }


def environment(repo: Repository, env: Environment, base_url: str) -> dict[str, Any]:
    obj = example("environment")
    obj.update(_environment_fields(repo, env, base_url))
    obj.update(created_at=iso(env.created_at), updated_at=iso(env.created_at))
    rules: list[dict[str, Any]] = []
    rule_base = env.id * 10
    if env.wait_timer:
        rules.append(
            {
                "id": rule_base + 1,
                "node_id": node_id("Gate", rule_base + 1),
                "type": "wait_timer",
                "wait_timer": env.wait_timer,
            }
        )
    if env.has_required_reviewers:
        rules.append(
            {
                "id": rule_base + 2,
                "node_id": node_id("Gate", rule_base + 2),
                "prevent_self_review": env.prevent_self_review,
                "type": "required_reviewers",
                "reviewers": _reviewers(repo, env, base_url),
            }
        )
    if env.deployment_branch_policy is not None:
        rules.append({"id": rule_base + 3, "node_id": node_id("Gate", rule_base + 3), "type": "branch_policy"})
    obj["protection_rules"] = rules
    obj["deployment_branch_policy"] = (
        dict(env.deployment_branch_policy) if env.deployment_branch_policy is not None else None
    )
    return obj


def _reviewers(repo: Repository, env: Environment, base_url: str) -> list[dict[str, Any]]:
    return [{"type": "User", "reviewer": user(login, base_url)} for login in env.reviewers] + [
        {"type": "Team", "reviewer": team(t, repo.world, base_url)} for t in env.teams
    ]


def approval(repo: Repository, value: Approval, base_url: str) -> dict[str, Any]:
    obj = example("environment-approvals-items")[0]
    environments = []
    for name in value.environments:
        env = repo.environments.get(name)
        if env is None:
            continue
        entry = _environment_fields(repo, env, base_url)
        entry.update(created_at=iso(env.created_at), updated_at=iso(env.created_at))
        environments.append(entry)
    obj.update(
        state=value.state,
        comment=value.comment,
        environments=environments,
        user=user(value.user, base_url),
    )
    return obj


def pending_deployment(run: WorkflowRun, env: Environment, base_url: str) -> dict[str, Any]:
    obj = example("pending-deployment-items")[0]
    obj.update(
        environment=_environment_fields(run.repository, env, base_url),
        wait_timer=env.wait_timer,
        wait_timer_started_at=iso(run.updated_at),
        current_user_can_approve=False,
        reviewers=_reviewers(run.repository, env, base_url),
    )
    return obj


def artifact(repo: Repository, run: WorkflowRun, value: Artifact, as_of: datetime, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{repo.full_name}"
    obj = example("artifact")
    obj.update(
        id=value.id,
        node_id=node_id("Artifact", value.id),
        name=value.name,
        size_in_bytes=value.size,
        url=f"{api}/actions/artifacts/{value.id}",
        archive_download_url=f"{api}/actions/artifacts/{value.id}/zip",
        expired=value.is_expired(as_of),
        created_at=iso(value.created_at),
        expires_at=iso(value.expires_at),
        updated_at=iso(value.created_at),
        digest=value.digest,
        workflow_run={
            "id": run.id,
            "repository_id": repo.id,
            "head_repository_id": repo.id,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
        },
    )
    return obj


def deployment(repo: Repository, value: Deployment, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{repo.full_name}"
    obj = example("deployment")
    last = value.statuses[-1].created_at if value.statuses else value.created_at
    obj.update(
        url=f"{api}/deployments/{value.id}",
        id=value.id,
        node_id=node_id("Deployment", value.id),
        sha=value.sha,
        ref=value.ref,
        task=value.task,
        payload={},
        original_environment=value.environment,
        environment=value.environment,
        description=None,
        creator=user(value.creator, base_url),
        created_at=iso(value.created_at),
        updated_at=iso(last),
        statuses_url=f"{api}/deployments/{value.id}/statuses",
        repository_url=api,
        transient_environment=False,
        production_environment=value.production_environment,
        performed_via_github_app=None,
    )
    return obj


def deployment_status(repo: Repository, dep: Deployment, value: DeploymentStatus, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{repo.full_name}"
    obj = example("deployment-status")
    obj.update(
        url=f"{api}/deployments/{dep.id}/statuses/{value.id}",
        id=value.id,
        node_id=node_id("DeploymentStatus", value.id),
        state=value.state,
        creator=user(dep.creator, base_url),
        description=value.description,
        environment=dep.environment,
        target_url=value.target_url,
        created_at=iso(value.created_at),
        updated_at=iso(value.created_at),
        deployment_url=f"{api}/deployments/{dep.id}",
        repository_url=api,
        environment_url="",
        log_url=value.log_url,
        performed_via_github_app=None,
    )
    return obj


def pull_request(repo: Repository, pull: PullRequest, base_url: str) -> dict[str, Any]:
    """A pull-request-simple object (also served, as a subset, for `GET /pulls/{n}`)."""
    api = f"{base_url}/repos/{repo.full_name}"
    web = f"{GITHUB_WEB}/{repo.full_name}"
    obj = example("pull-request-simple-items")[0]
    repo_obj = repository(repo, base_url)
    n = pull.number
    obj.update(
        url=f"{api}/pulls/{n}",
        id=pull.id,
        node_id=node_id("PullRequest", pull.id),
        html_url=f"{web}/pull/{n}",
        diff_url=f"{web}/pull/{n}.diff",
        patch_url=f"{web}/pull/{n}.patch",
        issue_url=f"{api}/issues/{n}",
        commits_url=f"{api}/pulls/{n}/commits",
        review_comments_url=f"{api}/pulls/{n}/comments",
        review_comment_url=f"{api}/pulls/comments{{/number}}",
        comments_url=f"{api}/issues/{n}/comments",
        statuses_url=f"{api}/statuses/{pull.head_sha}",
        number=n,
        state=pull.state,
        locked=False,
        title=pull.title,
        user=user(pull.user, base_url),
        body="",
        labels=[label(repo, name, base_url) for name in pull.labels],
        milestone=None,
        active_lock_reason=None,
        created_at=iso(pull.created_at),
        updated_at=iso(pull.closed_at or pull.created_at),
        closed_at=iso(pull.closed_at),
        merged_at=iso(pull.merged_at),
        merge_commit_sha=pull.merge_commit_sha,
        assignee=None,
        assignees=[],
        requested_reviewers=[],
        requested_teams=[],
        head={
            "label": f"{repo.owner}:{pull.head_ref}",
            "ref": pull.head_ref,
            "sha": pull.head_sha,
            "user": user(repo.owner, base_url, kind="Organization"),
            "repo": repo_obj,
        },
        base={
            "label": f"{repo.owner}:{pull.base_ref}",
            "ref": pull.base_ref,
            "sha": fake_sha("base", repo.full_name, pull.number),
            "user": user(repo.owner, base_url, kind="Organization"),
            "repo": repo_obj,
        },
        _links={
            "self": {"href": f"{api}/pulls/{n}"},
            "html": {"href": f"{web}/pull/{n}"},
            "issue": {"href": f"{api}/issues/{n}"},
            "comments": {"href": f"{api}/issues/{n}/comments"},
            "review_comments": {"href": f"{api}/pulls/{n}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{n}/commits"},
            "statuses": {"href": f"{api}/statuses/{pull.head_sha}"},
        },
        author_association="MEMBER",
        auto_merge=None,
        draft=False,
    )
    return obj


def pull_request_full(repo: Repository, pull: PullRequest, base_url: str) -> dict[str, Any]:
    """`GET /pulls/{n}`: the simple object plus the fields of a full pull request."""
    obj = pull_request(repo, pull, base_url)
    obj.update(
        merged=pull.merged_at is not None,
        mergeable=None,
        rebaseable=None,
        mergeable_state="unknown",
        merged_by=None,
        comments=0,
        review_comments=0,
        maintainer_can_modify=False,
        commits=len(pull.commits),
        additions=10,
        deletions=2,
        changed_files=1,
    )
    return obj


def review(repo: Repository, pull: PullRequest, value: Review, base_url: str) -> dict[str, Any]:
    api = f"{base_url}/repos/{repo.full_name}"
    html = f"{GITHUB_WEB}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{value.id}"
    obj = example("pull-request-review-items")[0]
    obj.update(
        id=value.id,
        node_id=node_id("PullRequestReview", value.id),
        user=user(value.user, base_url),
        body=value.body,
        state=value.state,
        html_url=html,
        pull_request_url=f"{api}/pulls/{pull.number}",
        _links={"html": {"href": html}, "pull_request": {"href": f"{api}/pulls/{pull.number}"}},
        submitted_at=iso(value.submitted_at),
        commit_id=value.commit_id,
        author_association="MEMBER",
    )
    return obj


def code_scanning_analysis(repo: Repository, analysis: dict[str, Any], base_url: str) -> dict[str, Any]:
    obj = example("code-scanning-analysis-items")[0]
    obj.update(analysis)
    obj["url"] = f"{base_url}/repos/{repo.full_name}/code-scanning/analyses/{obj['id']}"
    return obj


def rate_limit(limit: int, used: int, reset: int) -> dict[str, Any]:
    obj = example("rate-limit-overview")
    core = {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}
    obj["resources"]["core"] = dict(core)
    obj["rate"] = dict(core)
    return obj


def basic_error(
    message: str, documentation_url: str = "https://docs.github.com/rest", status: int | None = None
) -> dict[str, Any]:
    """GitHub's `basic-error` body (`status` is a string, as GitHub sends it)."""
    body: dict[str, Any] = {"message": message, "documentation_url": documentation_url}
    if status is not None:
        body["status"] = str(status)
    return body


def branch_protection(repo: Repository, base_url: str) -> dict[str, Any]:
    """`GET /repos/{o}/{r}/branches/{branch}/protection` of the default branch."""
    settings = repo.branch_protection or {}
    url = f"{base_url}/repos/{repo.full_name}/branches/{repo.default_branch}/protection"
    contexts = list(settings.get("contexts", []))
    body: dict[str, Any] = {
        "url": url,
        "required_status_checks": {
            "url": f"{url}/required_status_checks",
            "strict": True,
            "contexts": contexts,
            "checks": [{"context": context, "app_id": None} for context in contexts],
            "contexts_url": f"{url}/required_status_checks/contexts",
        },
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": bool(settings.get("enforce_admins"))},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "required_conversation_resolution": {"enabled": False},
        "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
    }
    count = settings.get("required_approving_review_count")
    if count is not None:
        body["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": bool(settings.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": False,
            "required_approving_review_count": count,
            "require_last_push_approval": False,
        }
    return body


def label(repo: Repository, name: str, base_url: str) -> dict[str, Any]:
    """A label as pull requests carry it."""
    label_id = int(hashlib.sha256(f"{repo.full_name}:{name}".encode()).hexdigest()[:8], 16)
    return {
        "id": label_id,
        "node_id": node_id("Label", label_id),
        "url": f"{base_url}/repos/{repo.full_name}/labels/{name}",
        "name": name,
        "description": None,
        "color": "d73a4a",
        "default": False,
    }
