"""Capture one quarter of production-deployment evidence from GitHub into the store.

For each repository in scope, in this order (each step is one collector):

1. the repository (default branch) and a snapshot of its environments' protection rules;
2. the production deployments created in the quarter, and each one's statuses, which link
   a deployment to its run and job and time the approval (`audit.extract.deployments`);
3. every workflow run created in the quarter, listed in `created` windows small enough
   that none hits GitHub's 1,000-result cap on filtered listings (`audit.extract.runs`);
4. for each run behind a production deployment: its jobs, environment approvals, the pull
   request of the deployed commit with its reviews (`audit.extract.evidence`), and its
   artifacts, scan reports downloaded and parsed (`audit.extract.artifacts`);
5. the settings in force: the default branch's protection and rulesets, each run's workflow
   file (its deploy credentials), and, with an organisation, its audit log
   (`audit.extract.settings_capture`).

Extraction never judges. It is incremental: a completed run whose evidence is stored is
not fetched again, a window whose first page answers 304 is skipped, and evidence once
stored is never replaced by an emptier answer (GitHub forgets statuses after 90 days).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlite_utils

from audit import __version__
from audit.capture_store import CaptureStore
from audit.config import Settings
from audit.extract.artifacts import ArtifactCollector
from audit.extract.client import GitHubClient
from audit.extract.deployments import DeploymentCollector
from audit.extract.evidence import RunEvidenceCollector
from audit.extract.parallel import DEFAULT_WORKERS, Fetcher
from audit.extract.querylog import QueryLog
from audit.extract.rows import environment_row, repository_raw
from audit.extract.runs import RunWindowCollector
from audit.extract.session import CaptureSession, iso_z
from audit.extract.settings_capture import SettingsCollector
from audit.patterns import matches_any
from audit.period import Period
from audit.progress import Reporter, Silent
from audit.quarter import Quarter
from audit.seal import seal_extraction
from audit.store import now_utc, to_json


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
    degraded: dict[tuple[str, str], int] = field(default_factory=dict)
    """(piece, outcome) -> lookups GitHub refused: outcome `rest` (GraphQL refused, REST
    answered) or `unavailable` (REST refused too, or answered what the endpoint does not
    document; the piece stays uncaptured)."""
    degraded_reasons: list[str] = field(default_factory=list)
    """The distinct refusals behind `degraded`, one sentence each."""


@contextmanager
def _commits_without_fsync(db: sqlite_utils.Database) -> Iterator[None]:
    """Commit the capture's thousands of small writes without waiting for the disk each time.

    In WAL mode, `synchronous=NORMAL` keeps every commit atomic and durable against a killed
    process (SIGKILL at any write loses nothing committed); only a power cut can undo the last
    commits, and what is left is still a consistent store that the next run completes. The
    disk's fsync per commit was a third of a sequential capture's time. The previous setting
    (SQLite's default, `FULL`) again afterwards: the extraction row and its seal, and all
    before them, are on disk when sealed.
    """
    previous = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        db.execute(f"PRAGMA synchronous={int(previous)}")


class Extractor:
    """Pulls one quarter of evidence for a list of repositories into the store."""

    def __init__(
        self,
        db,
        client: GitHubClient,
        settings: Settings,
        quarter: Period | Quarter,
        *,
        demo: bool = False,
        progress: Reporter | None = None,
        batched: bool = True,
        workers: int = DEFAULT_WORKERS,
    ):
        """`workers`: requests in flight at most (1: one after another; same requests, same rows)."""
        self.store = CaptureStore(db)
        self.client = client
        self.settings = settings
        self.quarter = quarter
        self.demo = demo
        self.log = QueryLog(self.store, client)
        start, end = quarter.bounds(settings.timezone)
        self.session = CaptureSession(
            store=self.store,
            client=client,
            fetcher=Fetcher(client, workers),
            log=self.log,
            settings=settings,
            quarter=quarter,
            start=start,
            end=end,
            progress=progress or Silent(),
            batched=batched,
            graphql_available=batched,
        )
        self.progress = self.session.progress
        self.deployments = DeploymentCollector(self.session)
        self.runs = RunWindowCollector(self.session)
        self.artifacts = ArtifactCollector(self.session)
        self.evidence = RunEvidenceCollector(self.session, self.artifacts)
        self.settings_in_force = SettingsCollector(self.session)
        self._snapshotted: dict[str, list[str]] = {}
        """Environment names per repository already snapshotted in this extraction."""

    def run(self, repositories: list[str], *, organization: str | None = None) -> ExtractionSummary:
        """Capture the quarter for `repositories`, or, when none are named, for every
        repository of `organization` that has a production environment."""
        started_at = now_utc()
        extraction_id = self.log.extraction_id = self.store.next_extraction_id()
        summary = ExtractionSummary(extraction_id, list(repositories))
        self.store.save_extraction(
            {
                "extraction_id": extraction_id,
                "started_at": started_at,
                "quarter": str(self.quarter),
                "api_url": self.client.api_url,
                "demo": int(self.demo),
                "repositories": to_json(repositories),
                "generator_version": __version__,
                "requests": 0,
            }
        )
        if not repositories and organization:
            repositories = self.discover(organization)
            summary.repositories = list(repositories)
            self.store.save_extraction({"extraction_id": extraction_id, "repositories": to_json(repositories)})
        try:
            with _commits_without_fsync(self.store.db):
                for repository in repositories:
                    self._capture_repository(repository, summary)
                if organization:
                    self.settings_in_force.collect_audit_log(organization, list(repositories))
        finally:
            self.session.fetcher.close()
        summary.requests = self.client.counter.requests
        summary.degraded = {**self.evidence.degraded, **self.deployments.degraded}
        summary.degraded_reasons = self.store.degraded_reasons(extraction_id)
        self.store.save_extraction(
            {"extraction_id": extraction_id, "finished_at": now_utc(), "requests": summary.requests}
        )
        seal = seal_extraction(
            self.store.db, extraction_id, api_url=self.client.api_url, tsa_url=os.environ.get("AUDIT_TSA_URL") or None
        )
        self.progress.say(seal.message)
        return summary

    def discover(self, organization: str) -> list[str]:
        """Every non-archived repository of the organisation with a production environment.

        Costs one listing request per 100 repositories plus one environments request per
        repository; each is logged like any other query.
        """
        self.progress.say(f"{organization}: discovering repositories with a production environment")
        listed = self.log.listing(
            organization,
            "GET /orgs/{org}/repos",
            {"type": "all"},
            f"{self.client.api_url}/orgs/{organization}/repos",
            request_params={"type": "all"},
        )
        candidates = [repo["full_name"] for repo in listed if not repo.get("archived")]
        found = []
        for repository in sorted(candidates):
            names = self._capture_environments(repository, now_utc())
            if any(matches_any(name, self.settings.production_environments) for name in names):
                found.append(repository)
        self.progress.say(f"{organization}: {len(found)} of {len(candidates)} repositories deploy to production")
        return found

    def _capture_repository(self, repository: str, summary: ExtractionSummary) -> None:
        self.progress.say(f"{repository}: repository and environments")
        started = self.log.begin()
        repo = self.client.repository(repository)
        self.log.record(repository, "GET /repos/{owner}/{repo}", {}, started, rows=1)
        captured_at = now_utc()
        self.store.save_repository(
            {
                "full_name": repository,
                "default_branch": repo.get("default_branch"),
                "private": int(bool(repo.get("private"))),
                "html_url": repo.get("html_url"),
                "captured_at": captured_at,
                "raw": to_json(repository_raw(repo)),
            }
        )
        environments = self._capture_environments(repository, captured_at)
        self.settings_in_force.collect_branch(repository, repo.get("default_branch"), captured_at)
        run_ids = set()
        for environment in self._production_environment_names(environments):
            deployments, linked = self.deployments.collect(repository, environment)
            summary.production_deployments += deployments
            run_ids |= linked
        windows = self.runs.collect(repository)
        summary.windows.extend(windows)
        summary.runs_listed += sum(window["fetched"] for window in windows)
        run_ids |= self.deployments.link_by_commit(repository)
        in_quarter = self.runs.in_quarter(repository, run_ids)
        to_capture = [run for run in in_quarter if not run["evidence_captured_at"]]
        self.progress.say(f"{repository}: {len(in_quarter)} production runs, {len(to_capture)} to capture")
        if to_capture:
            with self.progress.bar(f"{repository}: run evidence", len(to_capture)) as advance:
                self.evidence.collect(repository, to_capture, advance)
            summary.runs_captured += len(to_capture)
        self._capture_unlinked_deploy_runs(repository, {run["run_id"] for run in in_quarter})
        self.settings_in_force.collect_workflow_files(repository, in_quarter)

    def _capture_unlinked_deploy_runs(self, repository: str, linked: set[int]) -> None:
        """Fetch the jobs of deploying-workflow runs that no production deployment names.

        This is the second source of the completeness reconciliation: a run of a workflow
        that deploys to production, with no deployment linked to it, either never reached
        its deploy job (fine) or deployed without GitHub recording a deployment (a gap the
        report must show). Only its jobs can tell, so only those runs cost a request.
        """
        unlinked = [
            run_id
            for run_id in self.store.deploying_runs_without_jobs(
                repository, iso_z(self.session.start), iso_z(self.session.end)
            )
            if run_id not in linked
        ]
        if unlinked:
            self.evidence.collect_jobs(repository, self.runs.in_quarter(repository, set(unlinked)))

    def _capture_environments(self, repository: str, captured_at: str) -> list[str]:
        """Snapshot the protection rules (current configuration only, so kept per capture)."""
        if repository in self._snapshotted:
            return self._snapshotted[repository]
        environments = self.log.listing(
            repository,
            "GET /repos/{owner}/{repo}/environments",
            {},
            f"{self.client.repo_url(repository)}/environments",
            key="environments",
        )
        self.store.save_environment_snapshots(
            [environment_row(repository, environment, captured_at) for environment in environments]
        )
        names = [environment["name"] for environment in environments]
        self._snapshotted[repository] = names
        return names

    def _production_environment_names(self, environments: list[str]) -> list[str]:
        patterns = self.settings.production_environments
        names = {name for name in environments if matches_any(name, patterns)}
        # Literal names are queried even when the environment was deleted since.
        names |= {p for p in patterns if not any(ch in p for ch in "*?[")}
        return sorted(names)
