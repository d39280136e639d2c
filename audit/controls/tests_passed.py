"""tests.passed — did the required test jobs succeed before the deploy job started?

Takes the latest execution of every job whose name matches `test_jobs` (fnmatch,
case-insensitive; re-runs keep only the newest). Every one must have concluded `success`
and completed no later than the production deploy job started. When the deploy job never
started (rejected, cancelled while waiting) only the conclusions are judged, and the detail
says so.

Bad (fail): no matching job in the run; a matching job failed, was skipped or cancelled;
a test job that finished after deployment began.
Okay (pass): all matching jobs succeeded before the deploy job started.
Unknown (not_available): the run's jobs were never captured (none stored), or a test job's
conclusion or completion time is unknown.
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import join_names, latest_matching_jobs, plural
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    patterns = join_names(settings.test_jobs)
    if not deployment.jobs_captured:
        return Verdict("not_available", f"The jobs of {label} were never captured." + deployment.refusal("jobs"))
    tests = latest_matching_jobs(deployment, settings.test_jobs)
    if not tests:
        return Verdict(
            "fail",
            f"No job of {label} matches the test job patterns {patterns}.",
            tuple(f"jobs:{job.job_id}" for job in deployment.jobs),
        )
    deploy_job = deployment.deploy_job
    evidence = tuple(f"jobs:{job.job_id}" for job in tests)
    if deploy_job is not None:
        evidence += (f"jobs:{deploy_job.job_id}",)
    deploy_started = deploy_job.started_at if deploy_job is not None else None

    failed = [job for job in tests if job.conclusion is not None and job.conclusion != "success"]
    if failed:
        return Verdict(
            "fail",
            f"Test job {join_names(f'{job.name!r} ({job.conclusion})' for job in failed)} of {label} did not succeed.",
            evidence,
        )
    unknown = [job.name for job in tests if job.conclusion is None]
    if unknown:
        return Verdict(
            "not_available",
            f"The conclusion of test job {join_names(repr(n) for n in unknown)} of {label} is unknown.",
            evidence,
        )
    succeeded = f"{plural(len(tests), 'test job')} of {label} succeeded"
    if deploy_started is None:
        return Verdict(
            "pass",
            f"{succeeded}; the deploy job never started, so only their conclusions were judged.",
            evidence,
        )
    late = [job.name for job in tests if job.completed_at is not None and job.completed_at > deploy_started]
    if late:
        return Verdict(
            "fail",
            f"Test job {join_names(repr(n) for n in late)} of {label} completed after the deploy job started.",
            evidence,
        )
    untimed = [job.name for job in tests if job.completed_at is None]
    if untimed:
        return Verdict(
            "not_available",
            f"{succeeded}, but the completion time of {join_names(repr(n) for n in untimed)} is unknown.",
            evidence,
        )
    return Verdict("pass", f"{succeeded} before the deploy job started.", evidence)
