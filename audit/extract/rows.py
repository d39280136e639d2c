"""GitHub's JSON objects -> rows of the evidence store, one function per table.

Both extraction paths use these: REST answers directly, GraphQL answers after they are
mapped to the REST objects' shape (`audit/extract/graphql.py`), so the store holds the same
rows whichever way the evidence came. Pure functions: no database, no network.
"""

from __future__ import annotations

from audit.store import to_json


def deployment_row(repository: str, deployment: dict, captured_at: str) -> dict:
    return {
        "deployment_id": deployment["id"],
        "repository": repository,
        "environment": deployment.get("environment"),
        "sha": deployment.get("sha"),
        "ref": deployment.get("ref"),
        "task": deployment.get("task"),
        "creator": _login(deployment.get("creator")),
        "created_at": deployment.get("created_at"),
        "captured_at": captured_at,
        "raw": to_json(_deployment_raw(deployment)),
    }


def status_row(repository: str, deployment_id: int, status: dict, captured_at: str) -> dict:
    """Keyed by the node id, which REST and GraphQL both give (a status stored before node ids
    were kept is keyed by its database id). GraphQL gives no database id and no `target_url`:
    those columns are left out, so an upsert keeps what a REST capture stored."""
    row = {
        "status_key": status.get("node_id") or str(status["id"]),
        "node_id": status.get("node_id"),
        "deployment_id": deployment_id,
        "repository": repository,
        "state": status.get("state"),
        "created_at": status.get("created_at"),
        "creator": _login(status.get("creator")),
        "description": status.get("description"),
        "log_url": status.get("log_url"),
        "captured_at": captured_at,
    }
    if "id" in status:
        row.update(status_id=status["id"], target_url=status.get("target_url"))
    return row


def job_row(repository: str, run_id: int, job: dict, captured_at: str) -> dict:
    return {
        "job_id": job["id"],
        "repository": repository,
        "run_id": run_id,
        "run_attempt": job.get("run_attempt"),
        "name": job.get("name"),
        "status": job.get("status"),
        "conclusion": job.get("conclusion"),
        "started_at": job.get("started_at"),
        "completed_at": job.get("completed_at"),
        "html_url": job.get("html_url"),
        "captured_at": captured_at,
    }


def approval_rows(repository: str, run_id: int, approvals: list[dict], captured_at: str) -> list[dict]:
    """`/approvals` entries keep their order (`seq`): they carry no id and no timestamp."""
    return [
        {
            "repository": repository,
            "run_id": run_id,
            "seq": seq,
            "user": _login(entry.get("user")),
            "state": entry.get("state"),
            "comment": entry.get("comment"),
            "environments": to_json(sorted(e.get("name") for e in entry.get("environments") or [])),
            "captured_at": captured_at,
        }
        for seq, entry in enumerate(approvals)
    ]


def review_row(repository: str, pr_number: int, review: dict, captured_at: str) -> dict:
    return {
        "review_id": review["id"],
        "repository": repository,
        "pr_number": pr_number,
        "user": _login(review.get("user")),
        "state": review.get("state"),
        "submitted_at": review.get("submitted_at"),
        "commit_id": review.get("commit_id"),
        "author_association": review.get("author_association"),
        "captured_at": captured_at,
    }


def _login(user: dict | None) -> str | None:
    return (user or {}).get("login")


def run_row(repository: str, run: dict, captured_at: str) -> dict:
    return {
        "repository": repository,
        "run_id": run["id"],
        "run_attempt": run.get("run_attempt"),
        "workflow_id": run.get("workflow_id"),
        "workflow_name": run.get("name"),
        "path": run.get("path"),
        "event": run.get("event"),
        "status": run.get("status"),
        "conclusion": run.get("conclusion"),
        "head_branch": run.get("head_branch"),
        "head_sha": run.get("head_sha"),
        "actor": _login(run.get("actor")),
        "triggering_actor": _login(run.get("triggering_actor")),
        "created_at": run.get("created_at"),
        "updated_at": run.get("updated_at"),
        "run_started_at": run.get("run_started_at"),
        "html_url": run.get("html_url"),
        "captured_at": captured_at,
        "raw": to_json(
            {
                k: run.get(k)
                for k in (
                    "id",
                    "name",
                    "display_title",
                    "run_number",
                    "event",
                    "status",
                    "conclusion",
                    "head_branch",
                    "head_sha",
                    "run_attempt",
                    "created_at",
                    "html_url",
                    "path",
                    "node_id",
                )
            }
        ),
    }


def pull_row(repository: str, pr: dict, captured_at: str) -> dict:
    return {
        "repository": repository,
        "number": pr["number"],
        "title": pr.get("title"),
        "author": _login(pr.get("user")),
        "state": pr.get("state"),
        "merged_at": pr.get("merged_at"),
        "merge_commit_sha": pr.get("merge_commit_sha"),
        "head_sha": (pr.get("head") or {}).get("sha"),
        "base_ref": (pr.get("base") or {}).get("ref"),
        "html_url": pr.get("html_url"),
        "captured_at": captured_at,
        "labels": None if "labels" not in pr else to_json([label.get("name") for label in pr["labels"] or []]),
    }


def environment_row(repository: str, environment: dict, captured_at: str) -> dict:
    reviewers, prevent_self_review, wait_timer = [], None, None
    for rule in environment.get("protection_rules") or []:
        if rule.get("type") == "required_reviewers":
            prevent_self_review = rule.get("prevent_self_review")
            for reviewer in rule.get("reviewers") or []:
                who = reviewer.get("reviewer") or {}
                reviewers.append({"type": reviewer.get("type"), "name": who.get("login") or who.get("slug")})
        elif rule.get("type") == "wait_timer":
            wait_timer = rule.get("wait_timer")
    return {
        "repository": repository,
        "environment": environment["name"],
        "captured_at": captured_at,
        "required_reviewers": len(reviewers),
        "reviewers": to_json(reviewers),
        "prevent_self_review": None if prevent_self_review is None else int(prevent_self_review),
        "wait_timer": wait_timer,
        "branch_policy": to_json(environment.get("deployment_branch_policy")),
        "raw": to_json(environment),
    }


def repository_raw(repo: dict) -> dict:
    return {k: repo.get(k) for k in ("id", "full_name", "default_branch", "private", "html_url", "visibility")}


def _deployment_raw(deployment: dict) -> dict:
    return {
        k: deployment.get(k)
        for k in (
            "id",
            "node_id",
            "sha",
            "ref",
            "task",
            "environment",
            "original_environment",
            "production_environment",
            "created_at",
            "updated_at",
        )
    }
