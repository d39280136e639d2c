"""Production deployments of the quarter and their statuses, which link each to its run.

A status's `target_url` (or `log_url`) ends in `/actions/runs/{run_id}/job/{job_id}`, and the
`waiting` status and the one after it time the approval. GitHub forgets statuses after 90
days; a deployment that lost them is linked to its run through the deployed commit.

Batched, the statuses of up to 100 deployments come in one GraphQL query
(`graphql.deployment_statuses`); a deployment GraphQL does not answer in full (a refusal, a
null, more than 100 statuses, no node id, or statuses stored before node ids were kept) is
asked over REST. When REST refuses too, or answers what the endpoint does not document (a
null body: `UnreadableAnswer`), the lookup is recorded in `degraded_lookups` and the statuses
stay uncaptured: never read as "no statuses".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from audit.extract import graphql
from audit.extract.client import AccessRefused, GitHubClient, UnreadableAnswer
from audit.extract.evidence import BATCHES_AHEAD
from audit.extract.querylog import Listed, Started
from audit.extract.rows import deployment_row, status_row
from audit.extract.session import CaptureSession, iso_z, parse_time
from audit.store import now_utc

DEPLOYMENT_LAG = timedelta(days=7)
"""A run created just before quarter end may deploy after it: look this far past the end."""
STATUS_RETENTION = timedelta(days=90)
"""GitHub keeps deployment statuses this long (then GitHub drops them)."""
FINAL_STATES = {"success", "failure", "error", "inactive"}

STATUSES_PERMISSION = "deployments: read"
"""What GitHub needs to show deployment statuses, over GraphQL and REST alike."""
STATUSES_QUERY = "POST /graphql nodes(ids:) Deployment"

_RUN_LINK = re.compile(r"/actions/runs/(\d+)(?:/job/(\d+))?")


class DeploymentCollector:
    """Deployments to one production environment, their statuses, and their runs."""

    def __init__(self, session: CaptureSession):
        self.session = session
        self.store = session.store
        self.client = session.client
        self.degraded: dict[tuple[str, str], int] = {}
        """("statuses", outcome) -> lookups of this extraction GitHub refused (outcome rest or unavailable)."""

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
                items = page.items()  # unreadable: the extraction stops, the population is never guessed
                for deployment in items:
                    created = parse_time(deployment.get("created_at"))
                    if created is None or created >= horizon:
                        continue
                    if created < session.start:
                        older = True
                        continue
                    deployments.append(deployment)
                if older or not items:
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
        # Each batch is stored as it is answered, so a capture stopped midway keeps what it got.
        by_id = {deployment["id"]: deployment for deployment in to_fetch}
        refused: dict[int, str | None] = {}
        for answers in self._graphql_statuses(repository, to_fetch, known):
            for deployment_id, found in answers.items():
                if found.statuses is None:
                    refused[deployment_id] = found.refused
                    continue
                run_ids.add(self._store_statuses(repository, by_id.pop(deployment_id), found.statuses))
        rest = list(by_id.values())
        fetched = session.fetcher.map(lambda client, d: self._fetch_statuses(client, repository, d), rest)
        for deployment, listed in zip(rest, fetched, strict=True):
            run_ids.add(self._store_rest_answer(repository, deployment, listed, refused.get(deployment["id"])))
        run_ids.discard(None)
        if not first.not_modified and first.etag:
            # Saved only after everything behind the listing was captured, so a 304 is safe.
            self.store.remember_etag(etag_key, first.etag, now_utc())
        return len(deployments), run_ids

    def _graphql_statuses(
        self, repository: str, deployments: list[dict], known: dict[int, dict]
    ) -> Iterator[dict[int, graphql.DeploymentStatuses]]:
        """GraphQL's answer per deployment id, a batch of 100 at a time, queried side by side."""
        session = self.session
        if not session.graphql_available:
            return
        ready = []
        for deployment in deployments:
            stored = known.get(deployment["id"]) or {}
            node_id = deployment.get("node_id") or stored.get("node_id")
            if node_id and not stored.get("legacy_statuses"):
                ready.append((deployment["id"], node_id))
        batches = [ready[start : start + graphql.BATCH] for start in range(0, len(ready), graphql.BATCH)]

        def fetch(client: GitHubClient, batch: list[tuple[int, str]]) -> tuple[object, str, int]:
            started = session.log.begin()
            result: list[graphql.DeploymentStatuses] | graphql.GraphQLUnavailable
            try:
                result = graphql.deployment_statuses(client, [node_id for _, node_id in batch])
            except graphql.GraphQLUnavailable as why:
                result = why
            return result, started.at, client.counter.by_this_thread - started.requests

        for batch, (result, started_at, requests) in zip(
            batches, session.fetcher.map(fetch, batches, look_ahead=BATCHES_AHEAD), strict=True
        ):
            ids = [deployment_id for deployment_id, _ in batch]
            if isinstance(result, graphql.GraphQLUnavailable):
                session.log.record(
                    repository, STATUSES_QUERY, {"deployment_ids": ids}, Started(started_at, 0), requests=requests
                )
                if session.graphql_available:
                    session.graphql_available = False
                    session.progress.say(f"{repository}: {result}; asking REST per run instead")
                continue
            assert isinstance(result, list)
            rows = sum(len(found.statuses or []) for found in result)
            session.log.record(
                repository,
                STATUSES_QUERY,
                {"deployment_ids": ids},
                Started(started_at, 0),
                rows=rows,
                requests=requests,
            )
            yield dict(zip(ids, result, strict=True))

    def _fetch_statuses(
        self, client: GitHubClient, repository: str, deployment: dict
    ) -> Listed | AccessRefused | UnreadableAnswer:
        """One deployment's statuses over REST, on a worker's `client` (a refusal or an
        unreadable answer is returned)."""
        try:
            return self.session.log.fetch_listing(
                client, f"{client.repo_url(repository)}/deployments/{deployment['id']}/statuses"
            )
        except (AccessRefused, UnreadableAnswer) as refused:
            return refused

    def _store_rest_answer(
        self,
        repository: str,
        deployment: dict,
        listed: Listed | AccessRefused | UnreadableAnswer,
        graphql_error: str | None,
    ) -> int | None:
        """Log and store one deployment's statuses from REST (after GraphQL's `graphql_error`, if
        any); the run they link it to."""
        if isinstance(listed, AccessRefused | UnreadableAnswer):
            self._degraded(repository, deployment["id"], graphql_error, listed)
            return self.store.deployment_run_id(deployment["id"])
        self.session.log.record_listed(
            repository,
            "GET /repos/{owner}/{repo}/deployments/{id}/statuses",
            {"deployment_id": deployment["id"]},
            listed,
        )
        if graphql_error is not None:
            self._degraded(repository, deployment["id"], graphql_error, None)
        return self._store_statuses(repository, deployment, listed.items)

    def _degraded(
        self,
        repository: str,
        deployment_id: int,
        graphql_error: str | None,
        refused: AccessRefused | UnreadableAnswer | None,
    ) -> None:
        """Record statuses GitHub refused: read over REST after GraphQL did, or unavailable (REST
        refused them too, or answered what the endpoint does not document: no permission named)."""
        outcome = "unavailable" if refused is not None else "rest"
        permission = None if isinstance(refused, UnreadableAnswer) else STATUSES_PERMISSION
        self.store.note_degraded_lookup(
            {
                "repository": repository,
                "piece": "statuses",
                "subject": str(deployment_id),
                "outcome": outcome,
                "graphql_error": graphql_error,
                "rest_error": None if refused is None else refused.answer,
                "permission": permission,
                "quarter": str(self.session.quarter),
                "extraction_id": self.session.log.extraction_id,
                "captured_at": now_utc(),
            }
        )
        self.degraded["statuses", outcome] = self.degraded.get(("statuses", outcome), 0) + 1

    def _store_statuses(self, repository: str, deployment: dict, statuses: list[dict]) -> int | None:
        """Store one deployment's statuses; the run they link it to."""
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
