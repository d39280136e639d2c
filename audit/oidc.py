"""Deploy credentials: could the production deploy job request an OIDC token?

A job can exchange GitHub's OIDC token for short-lived cloud credentials only with
`permissions: id-token: write` (or `write-all`), set on the job or, when the job sets no
permissions of its own, on the workflow. The default token never has it. Without it the
job can only use long-lived secrets. This is informational evidence, not a verdict.
"""

from __future__ import annotations

import functools

import yaml


def oidc_capable(workflow_text: str | None, job_name: str | None) -> bool | None:
    """True/False for the job named `job_name` in the workflow; None when that cannot be told.

    `job_name` is the job's name as the run shows it: its `name:`, else its key; a matrix
    job's name carries its values in parentheses ("deploy (eu)"). A job that calls a
    reusable workflow (`uses:`) is unknown: its permissions are in the other file.
    """
    if workflow_text is None or job_name is None:
        return None
    workflow = _parse_workflow(workflow_text)
    if not isinstance(workflow, dict) or not isinstance(workflow.get("jobs"), dict):
        return None
    job = _find_job(workflow["jobs"], job_name)
    if job is None or "uses" in job:
        return None
    if "permissions" in job:
        return _grants_id_token(job["permissions"])
    return _grants_id_token(workflow.get("permissions"))


@functools.lru_cache(maxsize=256)
def _parse_workflow(workflow_text: str) -> object:
    """The workflow file as YAML data, None when it is not YAML.

    Every deployment of a quarter asks about its run's workflow file, and a repository has a
    handful of versions of it: each is parsed once (with libyaml when PyYAML has it). The
    result is shared between callers, so it is only read, never changed.
    """
    try:
        return yaml.load(workflow_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def _find_job(jobs: dict, job_name: str) -> dict | None:
    for key, job in jobs.items():
        if not isinstance(job, dict):
            continue
        shown = str(job.get("name") or key)
        if job_name in (shown, key) or (job_name.startswith(shown + " (") and "${{" not in shown):
            return job
    return None


def _grants_id_token(permissions) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"
