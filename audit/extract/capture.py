"""Capture one quarter of production-deployment evidence from GitHub into the store.

For each repository in scope:

1. the repository (default branch) and a snapshot of its environments' protection rules;
2. the production deployments created in the quarter, and each one's statuses — the
   statuses link a deployment to its run and job (`target_url` ends in
   `/actions/runs/{run_id}/job/{job_id}`) and time the approval (`waiting` -> next);
3. every workflow run created in the quarter, listed in `created` windows small enough
   that none hits GitHub's 1,000-result cap on filtered listings;
4. for each run behind a production deployment: its jobs, environment approvals,
   artifacts (scan reports downloaded and parsed), the pull request of the deployed
   commit and that PR's reviews.

Extraction never judges. It is incremental: a completed run whose evidence is stored is
not fetched again, a window whose first page answers 304 is skipped, and evidence once
stored is never replaced by an emptier answer (GitHub forgets statuses after 90 days).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from audit import __version__
from audit.config import Settings, matches_any
from audit.extract import graphql
from audit.extract.client import GitHubClient
from audit.extract.rows import (
    approval_rows,
    deployment_row,
    environment_row,
    job_row,
    pull_row,
    repository_raw,
    review_row,
    run_row,
    status_row,
)
from audit.progress import Reporter, Silent
from audit.quarter import Quarter
from audit.scans import inspect_artifact
from audit.store import now_utc, to_json, upsert_all

RESULT_CAP = 1000
"""GitHub returns at most this many results for a filtered run listing."""

DEPLOYMENT_LAG = timedelta(days=7)
"""A run created just before quarter end may deploy after it: look this far past the end."""

_RUN_LINK = re.compile(r"/actions/runs/(\d+)(?:/job/(\d+))?")
STATUS_RETENTION = timedelta(days=90)
"""GitHub keeps deployment statuses this long (DESIGN §3)."""
FINAL_STATES = {"success", "failure", "error", "inactive"}


@dataclass
class ExtractionSummary:
    """What one `extract` did, for the terminal and the extraction log."""

    extraction_id: int
    repositories: list[str]
    runs_listed: int = 0
    production_deployments: int = 0
    runs_captured: int = 0
    requests: int = 0
    windows: list[dict] = field(default_factory=list)


class Extractor:
    """Pulls one quarter of evidence for a list of repositories into the store."""

    def __init__(
        self,
        db,
        client: GitHubClient,
        settings: Settings,
        quarter: Quarter,
        *,
        demo: bool = False,
        progress: Reporter | None = None,
        batched: bool = True,
    ):
        self.db = db
        self.batched = batched
        """Batched capture (repository artifact listing, GraphQL); False: per-run REST requests."""
        self._graphql_available = batched
        """Cleared when `/graphql` answers 401/403/404: per-run REST from then on."""
        self.client = client
        self.settings = settings
        self.quarter = quarter
        self.demo = demo
        self.start, self.end = quarter.bounds(settings.timezone)
        self.progress = progress or Silent()
        self.extraction_id = 0
        self._snapshotted: dict[str, list[str]] = {}
        """Environment names per repository already snapshotted in this extraction."""

    def run(self, repositories: list[str], *, organization: str | None = None) -> ExtractionSummary:
        """Capture the quarter for `repositories`, or, when none are named, for every
        repository of `organization` that has a production environment."""
        started_at = now_utc()
        self.extraction_id = self.db.execute("select coalesce(max(extraction_id), 0) + 1 from extractions").fetchone()[
            0
        ]
        summary = ExtractionSummary(self.extraction_id, list(repositories))
        upsert_all(
            self.db,
            "extractions",
            [
                {
                    "extraction_id": self.extraction_id,
                    "started_at": started_at,
                    "quarter": str(self.quarter),
                    "api_url": self.client.api_url,
                    "demo": int(self.demo),
                    "repositories": to_json(repositories),
                    "generator_version": __version__,
                    "requests": 0,
                }
            ],
        )
        if not repositories and organization:
            repositories = self.discover(organization)
            summary.repositories = list(repositories)
            upsert_all(
                self.db, "extractions", [{"extraction_id": self.extraction_id, "repositories": to_json(repositories)}]
            )
        for repository in repositories:
            self._capture_repository(repository, summary)
        summary.requests = self.client.counter.requests
        upsert_all(
            self.db,
            "extractions",
            [
                {
                    "extraction_id": self.extraction_id,
                    "finished_at": now_utc(),
                    "requests": summary.requests,
                }
            ],
        )
        return summary

    # -- logging -------------------------------------------------------------------------

    def _log(
        self,
        repository: str,
        query: str,
        params: dict,
        started_at: str,
        requests_before: int,
        *,
        total_count: int | None = None,
        rows: int = 0,
        not_modified: bool = False,
    ) -> None:
        self.db["extraction_log"].insert(
            {
                "extraction_id": self.extraction_id,
                "repository": repository,
                "query": query,
                "params": to_json(params),
                "started_at": started_at,
                "total_count": total_count,
                "rows": rows,
                "requests": self.client.counter.requests - requests_before,
                "rate_remaining": self.client.counter.rate_remaining,
                "not_modified": int(not_modified),
            }
        )

    def _logged(self, repository: str, query: str, params: dict, fetch):
        """Run `fetch()` (returns (result, rows, total_count)) and log it as one query."""
        started_at, before = now_utc(), self.client.counter.requests
        result, rows, total_count = fetch()
        self._log(repository, query, params, started_at, before, total_count=total_count, rows=rows)
        return result

    def discover(self, organization: str) -> list[str]:
        """Every non-archived repository of the organisation with a production environment.

        Costs one listing request per 100 repositories plus one environments request per
        repository; each is logged like any other query.
        """
        self.progress.say(f"{organization}: discovering repositories with a production environment")
        url = f"{self.client.api_url}/orgs/{organization}/repos"
        candidates = self._logged(
            organization,
            "GET /orgs/{org}/repos",
            {"type": "all"},
            lambda: _with_count(
                [
                    repo["full_name"]
                    for page in self.client.pages(url, {"type": "all"})
                    for repo in page.data
                    if not repo.get("archived")
                ]
            ),
        )
        found = []
        for repository in sorted(candidates):
            names = self._capture_environments(repository, now_utc())
            if any(matches_any(name, self.settings.production_environments) for name in names):
                found.append(repository)
        self.progress.say(f"{organization}: {len(found)} of {len(candidates)} repositories deploy to production")
        return found

    # -- per repository ------------------------------------------------------------------

    def _capture_repository(self, repository: str, summary: ExtractionSummary) -> None:
        self.progress.say(f"{repository}: repository and environments")
        repo = self._logged(
            repository, "GET /repos/{owner}/{repo}", {}, lambda: (self.client.repository(repository), 1, None)
        )
        captured_at = now_utc()
        upsert_all(
            self.db,
            "repositories",
            [
                {
                    "full_name": repository,
                    "default_branch": repo.get("default_branch"),
                    "private": int(bool(repo.get("private"))),
                    "html_url": repo.get("html_url"),
                    "captured_at": captured_at,
                    "raw": to_json(repository_raw(repo)),
                }
            ],
        )
        environments = self._capture_environments(repository, captured_at)
        production = self._production_environment_names(environments)
        run_ids = set()
        for environment in production:
            run_ids |= self._capture_deployments(repository, environment, summary)
        listed = self._capture_runs(repository, summary)
        summary.runs_listed += listed
        run_ids |= self._link_by_commit(repository)
        in_quarter = self._runs_in_quarter(repository, run_ids)
        to_capture = [run for run in in_quarter if not run["evidence_captured_at"]]
        self.progress.say(f"{repository}: {len(in_quarter)} production runs, {len(to_capture)} to capture")
        if to_capture:
            with self.progress.bar(f"{repository}: run evidence", len(to_capture)) as advance:
                if self.batched:
                    self._capture_runs_batched(repository, to_capture, advance)
                else:
                    for run in to_capture:
                        self._capture_run_evidence(repository, run)
                        advance()
            summary.runs_captured += len(to_capture)
        self._capture_unlinked_deploy_runs(repository, {run["run_id"] for run in in_quarter})

    def _capture_unlinked_deploy_runs(self, repository: str, linked: set[int]) -> None:
        """Fetch the jobs of deploying-workflow runs that no production deployment names.

        This is the second source of the completeness reconciliation: a run of a workflow
        that deploys to production, with no deployment linked to it, either never reached
        its deploy job (fine) or deployed without GitHub recording a deployment (a gap the
        report must show). Only its jobs can tell, so only those runs cost a request.
        """
        start, end = _iso_z(self.start), _iso_z(self.end)
        rows = self.db.query(
            """select r.run_id from workflow_runs r
               where r.repository = :repo and r.created_at >= :start and r.created_at < :end
                 and r.workflow_id in (select w.workflow_id from workflow_runs w join deployments d
                                       on d.repository = w.repository and d.run_id = w.run_id
                                       where w.repository = :repo)
                 and not exists (select 1 from run_captures c where c.repository = r.repository
                                 and c.run_id = r.run_id and c.what = 'jobs')
               order by r.created_at""",
            {"repo": repository, "start": start, "end": end},
        )
        unlinked = [row["run_id"] for row in list(rows) if row["run_id"] not in linked]
        if self.batched and unlinked:
            runs = self._runs_in_quarter(repository, set(unlinked))
            for start in range(0, len(runs), graphql.BATCH):
                self._capture_batch_jobs_and_approvals(repository, runs[start : start + graphql.BATCH], approvals=False)
            return
        for run_id in unlinked:
            self._capture_jobs(repository, run_id, f"{self.client.repo_url(repository)}/actions/runs/{run_id}")

    def _capture_environments(self, repository: str, captured_at: str) -> list[str]:
        """Snapshot the protection rules (current configuration only, so kept per capture)."""
        if repository in self._snapshotted:
            return self._snapshotted[repository]
        url = f"{self.client.repo_url(repository)}/environments"
        names, rows = [], []

        def fetch():
            count = None
            for page in self.client.pages(url):
                count = page.data.get("total_count", count)
                for environment in page.data.get("environments", []):
                    names.append(environment["name"])
                    rows.append(environment_row(repository, environment, captured_at))
            return None, len(rows), count

        self._logged(repository, "GET /repos/{owner}/{repo}/environments", {}, fetch)
        upsert_all(self.db, "environment_snapshots", rows)
        self._snapshotted[repository] = names
        return names

    def _production_environment_names(self, environments: list[str]) -> list[str]:
        patterns = self.settings.production_environments
        names = {name for name in environments if matches_any(name, patterns)}
        # Literal names are queried even when the environment was deleted since.
        names |= {p for p in patterns if not any(ch in p for ch in "*?[")}
        return sorted(names)

    # -- deployments ---------------------------------------------------------------------

    def _capture_deployments(self, repository: str, environment: str, summary: ExtractionSummary) -> set[int]:
        url = f"{self.client.repo_url(repository)}/deployments"
        params = {"environment": environment}
        horizon = self.end + DEPLOYMENT_LAG
        etag_key = f"deployments:{repository}:{environment}:{self.quarter}"
        started_at, before = now_utc(), self.client.counter.requests
        first = self.client.get(url, {**params, "per_page": 100}, etag=self._etag(etag_key))
        if first.not_modified:
            # Page 1 unchanged: no deployment was created since the last full capture.
            self._log(
                repository,
                "GET /repos/{owner}/{repo}/deployments",
                params,
                started_at,
                before,
                rows=0,
                not_modified=True,
            )
            deployments = [
                {"id": row["deployment_id"]}
                for row in self.db.query(
                    "select deployment_id from deployments where repository = ? and environment = ? "
                    "and created_at >= ? and created_at < ?",
                    [repository, environment, _iso_z(self.start), _iso_z(horizon)],
                )
            ]
        else:
            deployments = []
            for page in self.client.pages(url, params, first=first):
                older = False
                for deployment in page.data:
                    created = _parse_time(deployment.get("created_at"))
                    if created is None or created >= horizon:
                        continue
                    if created < self.start:
                        older = True
                        continue
                    deployments.append(deployment)
                if older or not page.data:
                    break  # listed newest first: the rest are older than the quarter
            self._log(
                repository, "GET /repos/{owner}/{repo}/deployments", params, started_at, before, rows=len(deployments)
            )
            self._store_deployments(repository, deployments)
        summary.production_deployments += len(deployments)
        known = {
            row["deployment_id"]: row
            for row in self.db.query(
                "select deployment_id, statuses_final, run_id, job_id from deployments where repository = ?",
                [repository],
            )
        }
        run_ids = set()
        for deployment in deployments:
            previous = known.get(deployment["id"])
            if previous and previous["statuses_final"]:
                if previous["run_id"]:
                    run_ids.add(previous["run_id"])
                continue
            run_id = self._capture_statuses(repository, deployment)
            if run_id:
                run_ids.add(run_id)
        if not first.not_modified:
            self._remember_etag(etag_key, first.etag)
        return run_ids

    def _store_deployments(self, repository: str, deployments: list[dict]) -> None:
        captured_at = now_utc()
        upsert_all(self.db, "deployments", [deployment_row(repository, d, captured_at) for d in deployments])

    def _etag(self, key: str) -> str | None:
        row = self.db.execute("select etag from conditional_requests where key = ?", [key]).fetchone()
        return row[0] if row else None

    def _remember_etag(self, key: str, etag: str | None) -> None:
        """Saved only after everything behind the listing was captured, so a 304 is safe."""
        if etag:
            upsert_all(self.db, "conditional_requests", [{"key": key, "etag": etag, "captured_at": now_utc()}])

    def _capture_statuses(self, repository: str, deployment: dict) -> int | None:
        url = f"{self.client.repo_url(repository)}/deployments/{deployment['id']}/statuses"
        statuses: list[dict] = []

        def fetch():
            for page in self.client.pages(url):
                statuses.extend(page.data)
            return None, len(statuses), None

        self._logged(
            repository,
            "GET /repos/{owner}/{repo}/deployments/{id}/statuses",
            {"deployment_id": deployment["id"]},
            fetch,
        )
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
            upsert_all(
                self.db,
                "deployment_statuses",
                [status_row(repository, deployment["id"], status, captured_at) for status in statuses],
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
        upsert_all(self.db, "deployments", [update])
        if run_id is None:
            row = self.db["deployments"].get(deployment["id"])
            run_id = row.get("run_id")
        return run_id

    def _past_status_retention(self, deployment_id: int) -> bool:
        row = self.db.execute("select created_at from deployments where deployment_id = ?", [deployment_id]).fetchone()
        created = _parse_time(row[0]) if row else None
        return created is not None and datetime.now(UTC) - created > STATUS_RETENTION

    def _link_by_commit(self, repository: str) -> set[int]:
        """Link deployments whose statuses are gone to their run through the deployed commit.

        After 90 days GitHub returns no statuses, so the `target_url` link is lost; the
        run that deployed is then the latest run of that commit created before the
        deployment. Recorded as `run_link = 'commit'` so the report can say so.
        """
        linked = set()
        for deployment in self.db.query(
            "select deployment_id, sha, created_at from deployments where repository = ? and run_id is null",
            [repository],
        ):
            run = next(
                self.db.query(
                    "select run_id from workflow_runs where repository = ? and head_sha = ? and created_at <= ? "
                    "and event != 'pull_request' order by created_at desc limit 1",
                    [repository, deployment["sha"], deployment["created_at"]],
                ),
                None,
            )
            if run:
                upsert_all(
                    self.db,
                    "deployments",
                    [{"deployment_id": deployment["deployment_id"], "run_id": run["run_id"], "run_link": "commit"}],
                )
                linked.add(run["run_id"])
        return linked

    # -- runs ----------------------------------------------------------------------------

    def _capture_runs(self, repository: str, summary: ExtractionSummary) -> int:
        """List every run created in the quarter, window by window under the result cap."""
        listed = 0
        pending = [(self.start, self.end)]
        while pending:
            window_start, window_end = pending.pop(0)
            outcome = self._capture_run_window(repository, window_start, window_end)
            if outcome is None:  # over the cap: split and retry both halves
                middle = window_start + (window_end - window_start) / 2
                middle = middle.replace(microsecond=0)
                pending[:0] = [(window_start, middle), (middle, window_end)]
                continue
            summary.windows.append(outcome)
            listed += outcome["fetched"]
        return listed

    def _capture_run_window(self, repository: str, window_start: datetime, window_end: datetime) -> dict | None:
        url = f"{self.client.repo_url(repository)}/actions/runs"
        created = f"{_iso_z(window_start)}..{_iso_z(window_end - timedelta(seconds=1))}"
        params = {"created": created}
        key = {"repository": repository, "window_start": window_start.isoformat(), "window_end": window_end.isoformat()}
        previous = next(
            self.db.query(
                "select * from run_windows where repository = ? and window_start = ? and window_end = ?",
                list(key.values()),
            ),
            None,
        )
        started_at, before = now_utc(), self.client.counter.requests
        log = functools.partial(
            self._log, repository, "GET /repos/{owner}/{repo}/actions/runs", params, started_at, before
        )
        first = self.client.get(url, {**params, "per_page": 100}, etag=previous["etag"] if previous else None)
        if first.not_modified:
            log(total_count=previous["total_count"], rows=0, not_modified=True)
            return {**key, "total_count": previous["total_count"], "fetched": previous["fetched"], "not_modified": True}
        total_count = first.data.get("total_count", 0)
        if total_count >= RESULT_CAP and window_end - window_start > timedelta(seconds=2):
            log(total_count=total_count, rows=0)
            return None
        captured_at = now_utc()
        fetched = 0
        for page in self.client.pages(url, params, first=first):
            runs = page.data.get("workflow_runs", [])
            fetched += len(runs)
            self._store_runs(repository, runs, captured_at)
        log(total_count=total_count, rows=fetched)
        window = {**key, "total_count": total_count, "fetched": fetched, "etag": first.etag, "captured_at": captured_at}
        upsert_all(self.db, "run_windows", [window])
        return {**window, "not_modified": False}

    def _store_runs(self, repository: str, runs: list[dict], captured_at: str) -> None:
        existing = (
            {
                row["run_id"]: row
                for row in self.db.query(
                    "select run_id, run_attempt, status, evidence_captured_at from workflow_runs "
                    "where repository = ? and run_id in ({})".format(",".join("?" * len(runs))),
                    [repository, *[r["id"] for r in runs]],
                )
            }
            if runs
            else {}
        )
        rows = []
        for run in runs:
            row = run_row(repository, run, captured_at)
            old = existing.get(run["id"])
            if (
                old
                and old["evidence_captured_at"]
                and (old["run_attempt"] == row["run_attempt"] and old["status"] == row["status"])
            ):
                row["evidence_captured_at"] = old["evidence_captured_at"]
            else:
                row["evidence_captured_at"] = None  # a re-run after capture: fetch again
            rows.append(row)
        upsert_all(self.db, "workflow_runs", rows)

    def _runs_in_quarter(self, repository: str, run_ids: set[int]) -> list[dict]:
        if not run_ids:
            return []
        rows = self.db.query(
            "select * from workflow_runs where repository = ? and run_id in ({}) order by created_at".format(
                ",".join("?" * len(run_ids))
            ),
            [repository, *sorted(run_ids)],
        )
        return [row for row in rows if self.start <= _parse_time(row["created_at"]) < self.end]

    # -- evidence of one run -------------------------------------------------------------

    def _capture_run_evidence(self, repository: str, run: dict) -> None:
        run_id = run["run_id"]
        run_url = f"{self.client.repo_url(repository)}/actions/runs/{run_id}"
        self._capture_jobs(repository, run_id, run_url)
        self._capture_approvals(repository, run_id, run_url)
        self._capture_artifacts(repository, run_id, run_url)
        if run["head_sha"]:
            self._capture_pull_request(repository, run["head_sha"])
        if run["status"] == "completed":
            upsert_all(
                self.db,
                "workflow_runs",
                [{"repository": repository, "run_id": run_id, "evidence_captured_at": now_utc()}],
            )

    # -- evidence of many runs at once ---------------------------------------------------

    def _capture_runs_batched(self, repository: str, runs: list[dict], advance) -> None:
        """The evidence of `runs` in batches, storing the same rows as `_capture_run_evidence`.

        One repository-wide artifact listing serves every run; per batch of 100 runs one
        GraphQL query fetches jobs and approvals and one the pull requests and reviews of
        the deployed commits. Per run, only artifact downloads (and the REST fallbacks in
        `audit.extract.graphql`) cost requests.
        """
        artifacts = self._list_repository_artifacts(repository, runs)
        for start in range(0, len(runs), graphql.BATCH):
            batch = runs[start : start + graphql.BATCH]
            self._capture_batch_jobs_and_approvals(repository, batch)
            self._capture_batch_pulls(repository, batch)
            for run in batch:
                self._store_artifacts(repository, run["run_id"], artifacts.get(run["run_id"], []))
                if run["status"] == "completed":
                    upsert_all(
                        self.db,
                        "workflow_runs",
                        [{"repository": repository, "run_id": run["run_id"], "evidence_captured_at": now_utc()}],
                    )
                advance()

    def _list_repository_artifacts(self, repository: str, runs: list[dict]) -> dict[int, list[dict]]:
        """`GET /actions/artifacts` (newest first) down to the oldest run's creation: an
        artifact is made during its run, so older pages cannot hold one of `runs`."""
        wanted = {run["run_id"] for run in runs}
        oldest = min(_parse_time(run["created_at"]) for run in runs)
        found: dict[int, list[dict]] = {}

        def fetch():
            count, listed = None, 0
            for page in self.client.pages(f"{self.client.repo_url(repository)}/actions/artifacts"):
                count = page.data.get("total_count", count)
                items = page.data.get("artifacts", [])
                listed += len(items)
                older = False
                for artifact in items:
                    run_id = (artifact.get("workflow_run") or {}).get("id")
                    if run_id in wanted:
                        found.setdefault(run_id, []).append(artifact)
                    created = _parse_time(artifact.get("created_at"))
                    older = older or (created is not None and created < oldest)
                if older or not items:
                    break
            return None, listed, count

        self._logged(
            repository, "GET /repos/{owner}/{repo}/actions/artifacts", {"created_since": _iso_z(oldest)}, fetch
        )
        return found

    def _graphql_call(self, repository: str, name: str, params: dict, call):
        """Run one GraphQL query (`call()`), logged like a REST query; None when GraphQL is
        unavailable, which switches this extraction to per-run REST requests."""
        if not self._graphql_available:
            return None
        started_at, before = now_utc(), self.client.counter.requests
        try:
            result = call()
        except graphql.GraphQLUnavailable as why:
            self._graphql_available = False
            self._log(repository, name, params, started_at, before, rows=0)
            self.progress.say(f"{repository}: {why}; asking REST per run instead")
            return None
        self._log(repository, name, params, started_at, before, rows=len(result))
        return result

    def _capture_batch_jobs_and_approvals(self, repository: str, runs: list[dict], *, approvals: bool = True) -> None:
        ready = [(run, json.loads(run["raw"] or "{}").get("node_id")) for run in runs]
        ready = [(run, node) for run, node in ready if node]
        answers: dict[int, graphql.RunEvidence | None] = {}
        if ready:
            evidence = self._graphql_call(
                repository,
                "POST /graphql nodes(ids:) WorkflowRun",
                {"run_ids": [run["run_id"] for run, _ in ready]},
                lambda: graphql.run_evidence(
                    self.client, [node for _, node in ready], [run["run_attempt"] for run, _ in ready]
                ),
            )
            answers = dict(zip([run["run_id"] for run, _ in ready], evidence or [], strict=False))
        for run in runs:
            run_id = run["run_id"]
            run_url = f"{self.client.repo_url(repository)}/actions/runs/{run_id}"
            found = answers.get(run_id)
            if found is not None and found.jobs is not None:
                self._store_jobs(repository, run_id, found.jobs)
            else:
                self._capture_jobs(repository, run_id, run_url)
            if not approvals:
                continue
            if found is not None and found.approvals is not None:
                self._store_approvals(repository, run_id, found.approvals)
            else:
                self._capture_approvals(repository, run_id, run_url)

    def _capture_batch_pulls(self, repository: str, runs: list[dict]) -> None:
        """Pull requests and reviews of the runs' commits; one lookup per distinct commit, ever."""
        shas = sorted({run["head_sha"] for run in runs if run["head_sha"]})
        if not shas:
            return
        known = {
            row["sha"]: json.loads(row["pr_numbers"])
            for row in self.db.query(
                "select sha, pr_numbers from commit_pulls where repository = ? and sha in ({})".format(
                    ",".join("?" * len(shas))
                ),
                [repository, *shas],
            )
        }
        missing = [sha for sha in shas if sha not in known]
        answers = (
            self._graphql_call(
                repository,
                "POST /graphql repository.object(oid:) Commit",
                {"shas": missing},
                lambda: graphql.commit_pulls(self.client, repository, missing),
            )
            if missing
            else None
        ) or {}
        for sha in shas:
            if sha in known:
                self._capture_missing_reviews(repository, known[sha])
                continue
            found = answers.get(sha)
            if found is None or found.pulls is None:
                self._capture_pull_request(repository, sha)
            else:
                numbers = self._store_commit_pulls(repository, sha, found.pulls)
                self._capture_missing_reviews(repository, numbers, found.reviews)

    def _capture_jobs(self, repository: str, run_id: int, run_url: str) -> None:
        jobs: list[dict] = []

        def fetch():
            count = None
            for page in self.client.pages(f"{run_url}/jobs", {"filter": "all"}):
                count = page.data.get("total_count", count)
                jobs.extend(page.data.get("jobs", []))
            return None, len(jobs), count

        self._logged(
            repository, "GET /repos/{owner}/{repo}/actions/runs/{id}/jobs", {"run_id": run_id, "filter": "all"}, fetch
        )
        self._store_jobs(repository, run_id, jobs)

    def _store_jobs(self, repository: str, run_id: int, jobs: list[dict]) -> None:
        captured_at = now_utc()
        upsert_all(self.db, "jobs", [job_row(repository, run_id, job, captured_at) for job in jobs])
        self._mark(repository, run_id, "jobs", captured_at)

    def _capture_approvals(self, repository: str, run_id: int, run_url: str) -> None:
        # PyGithub has no method for this endpoint, and its answer carries no timestamp.
        approvals = self._logged(
            repository,
            "GET /repos/{owner}/{repo}/actions/runs/{id}/approvals",
            {"run_id": run_id},
            lambda: _with_count(self.client.get(f"{run_url}/approvals").data or []),
        )
        self._store_approvals(repository, run_id, approvals)

    def _store_approvals(self, repository: str, run_id: int, approvals: list[dict]) -> None:
        captured_at = now_utc()
        upsert_all(self.db, "approvals", approval_rows(repository, run_id, approvals, captured_at))
        self._mark(repository, run_id, "approvals", captured_at)

    def _capture_artifacts(self, repository: str, run_id: int, run_url: str) -> None:
        artifacts: list[dict] = []

        def fetch():
            count = None
            for page in self.client.pages(f"{run_url}/artifacts"):
                count = page.data.get("total_count", count)
                artifacts.extend(page.data.get("artifacts", []))
            return None, len(artifacts), count

        self._logged(repository, "GET /repos/{owner}/{repo}/actions/runs/{id}/artifacts", {"run_id": run_id}, fetch)
        self._store_artifacts(repository, run_id, artifacts)

    def _store_artifacts(self, repository: str, run_id: int, artifacts: list[dict]) -> None:
        """Mark the run's artifact list captured and download what was not captured before."""
        self._mark(repository, run_id, "artifacts", now_utc())
        for artifact in artifacts:
            existing = self.db.execute(
                "select capture_status from artifacts where artifact_id = ?", [artifact["id"]]
            ).fetchone()
            if existing and existing[0] in ("captured", "not_scan"):
                continue  # captured once: GitHub's copy may be gone by now
            self._capture_artifact(repository, run_id, artifact)

    def _capture_artifact(self, repository: str, run_id: int, artifact: dict) -> None:
        row = {
            "artifact_id": artifact["id"],
            "repository": repository,
            "run_id": run_id,
            "name": artifact.get("name"),
            "size_in_bytes": artifact.get("size_in_bytes"),
            "created_at": artifact.get("created_at"),
            "expires_at": artifact.get("expires_at"),
            "expired": int(bool(artifact.get("expired"))),
            "captured_at": now_utc(),
            "scan_format": None,
            "sha256": None,
            "content": None,
            "capture_detail": None,
        }
        findings: list[dict] = []
        if artifact.get("expired"):
            row.update(
                capture_status="expired",
                capture_detail="GitHub lists the artifact as expired: its content was never captured",
            )
        else:
            started_at, before = now_utc(), self.client.counter.requests
            status, content, why = self.client.download_artifact(repository, artifact["id"])
            self._log(
                repository,
                "GET /repos/{owner}/{repo}/actions/artifacts/{id}/zip",
                {"artifact_id": artifact["id"]},
                started_at,
                before,
                rows=int(content is not None),
            )
            if status != "ok":
                row.update(capture_status=status, capture_detail=why)
            else:
                scan = inspect_artifact(content)
                row.update(
                    capture_status=scan.status,
                    capture_detail=scan.detail,
                    scan_format=scan.scan_format,
                    sha256=scan.sha256,
                    content=content if scan.status == "captured" else None,
                )
                findings = [
                    {
                        "artifact_id": artifact["id"],
                        "seq": seq,
                        "repository": repository,
                        "tool": f.tool,
                        "severity": f.severity,
                        "rule_id": f.rule_id,
                        "title": f.title,
                        "location": f.location,
                    }
                    for seq, f in enumerate(scan.findings)
                ]
        # One transaction: an artifact stored as captured is never fetched again, so a crash
        # between the two writes must not leave it without its findings.
        with self.db.atomic():
            upsert_all(self.db, "artifacts", [row])
            upsert_all(self.db, "scan_findings", findings)

    def _capture_pull_request(self, repository: str, sha: str) -> None:
        known = self.db.execute(
            "select pr_numbers from commit_pulls where repository = ? and sha = ?", [repository, sha]
        ).fetchone()
        if known is None:
            pulls = self._logged(
                repository,
                "GET /repos/{owner}/{repo}/commits/{sha}/pulls",
                {"sha": sha},
                lambda: _with_count(self._list(f"{self.client.repo_url(repository)}/commits/{sha}/pulls")),
            )
            numbers = self._store_commit_pulls(repository, sha, pulls)
        else:
            numbers = json.loads(known[0])
        self._capture_missing_reviews(repository, numbers)

    def _store_commit_pulls(self, repository: str, sha: str, pulls: list[dict]) -> list[int]:
        captured_at = now_utc()
        upsert_all(self.db, "pull_requests", [pull_row(repository, pr, captured_at) for pr in pulls])
        numbers = [pr["number"] for pr in pulls]
        upsert_all(
            self.db,
            "commit_pulls",
            [{"repository": repository, "sha": sha, "pr_numbers": to_json(numbers), "captured_at": captured_at}],
        )
        return numbers

    def _capture_missing_reviews(self, repository: str, numbers: list[int], known: dict | None = None) -> None:
        """Reviews of each merged pull request not captured yet (`known`: reviews in hand by number)."""
        for number in numbers:
            pr = self.db["pull_requests"].get((repository, number))
            if pr["merged_at"] and not pr["reviews_captured_at"]:
                reviews = (known or {}).get(number)
                if reviews is None:
                    self._capture_reviews(repository, number)
                else:
                    self._store_reviews(repository, number, reviews)

    def _capture_reviews(self, repository: str, number: int) -> None:
        reviews = self._logged(
            repository,
            "GET /repos/{owner}/{repo}/pulls/{number}/reviews",
            {"pull_number": number},
            lambda: _with_count(self._list(f"{self.client.repo_url(repository)}/pulls/{number}/reviews")),
        )
        self._store_reviews(repository, number, reviews)

    def _store_reviews(self, repository: str, number: int, reviews: list[dict]) -> None:
        captured_at = now_utc()
        upsert_all(self.db, "reviews", [review_row(repository, number, review, captured_at) for review in reviews])
        upsert_all(
            self.db, "pull_requests", [{"repository": repository, "number": number, "reviews_captured_at": captured_at}]
        )

    def _list(self, url: str) -> list:
        items: list = []
        for page in self.client.pages(url):
            items.extend(page.data or [])
        return items

    def _mark(self, repository: str, run_id: int, what: str, captured_at: str, detail: str | None = None) -> None:
        upsert_all(
            self.db,
            "run_captures",
            [{"repository": repository, "run_id": run_id, "what": what, "captured_at": captured_at, "detail": detail}],
        )


# -- helpers -------------------------------------------------------------------------------


def _with_count(items: list) -> tuple[list, int, int]:
    return items, len(items), len(items)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
