"""Production deployments of the quarter and their statuses, which link each to its run.

A status's `target_url` (or `log_url`) ends in `/actions/runs/{run_id}/job/{job_id}`, and the
`waiting` status and the one after it time the approval. GitHub forgets statuses after 90
days; a deployment that lost them is linked to its run through the deployed commit.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from audit.extract.client import GitHubClient
from audit.extract.querylog import Listed
from audit.extract.rows import deployment_row, status_row
from audit.extract.session import CaptureSession, iso_z, parse_time
from audit.store import now_utc

DEPLOYMENT_LAG = timedelta(days=7)
"""A run created just before quarter end may deploy after it: look this far past the end."""
STATUS_RETENTION = timedelta(days=90)
"""GitHub keeps deployment statuses this long (then GitHub drops them)."""
FINAL_STATES = {"success", "failure", "error", "inactive"}

_RUN_LINK = re.compile(r"/actions/runs/(\d+)(?:/job/(\d+))?")


class DeploymentCollector:
    """Deployments to one production environment, their statuses, and their runs."""

    def __init__(self, session: CaptureSession):
        self.session = session
        self.store = session.store
        self.client = session.client

    def collect(self, repository: str, environment: str) -> tuple[int, set[int]]:
        """(deployments created in the quarter, the runs they name).

        Listed newest first under a conditional request: a 304 on page 1 means no deployment
        was created since the last full capture, and the stored ones stand in.
        """
        session = self.session
        url = f"{self.client.repo_url(repository)}/deployments"
        params = {"environment": environment}
        horizon = session.end + DEPLOYMENT_LAG
        etag_key = f"deployments:{repository}:{environment}:{session.quarter}"
        started = session.log.begin()
        first = self.client.get(url, {**params, "per_page": 100}, etag=self.store.etag(etag_key))
        if first.not_modified:
            session.log.record(
                repository, "GET /repos/{owner}/{repo}/deployments", params, started, rows=0, not_modified=True
            )
            deployments = [
                {"id": deployment_id}
                for deployment_id in self.store.deployment_ids(
                    repository, environment, iso_z(session.start), iso_z(horizon)
                )
            ]
        else:
            deployments = []
            for page in self.client.pages(url, params, first=first):
                older = False
                for deployment in page.data:
                    created = parse_time(deployment.get("created_at"))
                    if created is None or created >= horizon:
                        continue
                    if created < session.start:
                        older = True
                        continue
                    deployments.append(deployment)
                if older or not page.data:
                    break  # listed newest first: the rest are older than the quarter
            session.log.record(
                repository, "GET /repos/{owner}/{repo}/deployments", params, started, rows=len(deployments)
            )
            captured_at = now_utc()
            self.store.save_deployments([deployment_row(repository, d, captured_at) for d in deployments])
        known = self.store.deployment_links(repository)
        run_ids = set()
        to_fetch = []
        for deployment in deployments:
            previous = known.get(deployment["id"])
            if previous and previous["statuses_final"]:
                if previous["run_id"]:
                    run_ids.add(previous["run_id"])
                continue
            to_fetch.append(deployment)
        fetched = session.fetcher.map(lambda client, d: self._fetch_statuses(client, repository, d), to_fetch)
        for deployment, statuses in zip(to_fetch, fetched, strict=True):
            run_id = self._store_statuses(repository, deployment, statuses)
            if run_id:
                run_ids.add(run_id)
        if not first.not_modified and first.etag:
            # Saved only after everything behind the listing was captured, so a 304 is safe.
            self.store.remember_etag(etag_key, first.etag, now_utc())
        return len(deployments), run_ids

    def _fetch_statuses(self, client: GitHubClient, repository: str, deployment: dict) -> Listed:
        """One deployment's statuses, on a worker's `client`."""
        return self.session.log.fetch_listing(
            client, f"{client.repo_url(repository)}/deployments/{deployment['id']}/statuses"
        )

    def _store_statuses(self, repository: str, deployment: dict, listed: Listed) -> int | None:
        """Log and store one deployment's statuses; the run they link it to."""
        self.session.log.record_listed(
            repository,
            "GET /repos/{owner}/{repo}/deployments/{id}/statuses",
            {"deployment_id": deployment["id"]},
            listed,
        )
        statuses = listed.items
        captured_at = now_utc()
        run_id = job_id = None
        for status in statuses:
            for link in (status.get("log_url"), status.get("target_url")):
                match = _RUN_LINK.search(link or "")
                if match:
                    run_id = run_id or int(match.group(1))
                    if match.group(2):
                        job_id = job_id or int(match.group(2))
        update = {"deployment_id": deployment["id"]}
        if statuses:
            # Only a non-empty answer is evidence; an empty one after 90 days must not
            # erase what an earlier capture kept.
            self.store.save_statuses(
                [status_row(repository, deployment["id"], status, captured_at) for status in statuses]
            )
            update.update(
                {
                    "statuses_captured_at": captured_at,
                    "run_id": run_id,
                    "job_id": job_id,
                    "run_link": "statuses" if run_id else None,
                    "statuses_final": int(any(s.get("state") in FINAL_STATES for s in statuses)),
                }
            )
        elif self._past_status_retention(deployment["id"]):
            update["statuses_final"] = 1  # GitHub dropped them for good: asking again cannot help
        self.store.save_deployments([update])
        if run_id is None:
            run_id = self.store.deployment_run_id(deployment["id"])
        return run_id

    def _past_status_retention(self, deployment_id: int) -> bool:
        created = parse_time(self.store.deployment_created_at(deployment_id))
        return created is not None and datetime.now(UTC) - created > STATUS_RETENTION

    def link_by_commit(self, repository: str) -> set[int]:
        """Link deployments whose statuses are gone to their run through the deployed commit.

        After 90 days GitHub returns no statuses, so the `target_url` link is lost; the
        run that deployed is then the latest run of that commit created before the
        deployment. Recorded as `run_link = 'commit'` so the report can say so.
        """
        linked = set()
        for deployment in self.store.deployments_without_run(repository):
            run_id = self.store.latest_run_of_commit(repository, deployment["sha"], deployment["created_at"])
            if run_id:
                self.store.save_deployments(
                    [{"deployment_id": deployment["deployment_id"], "run_id": run_id, "run_link": "commit"}]
                )
                linked.add(run_id)
        return linked
