"""The evidence of each production run: jobs, environment approvals, artifacts, and the
pull request of the deployed commit with its reviews.

Two ways, same rows: per run over REST (`batched=False`), or in batches, where one
repository-wide artifact listing serves every run and, per batch of 100 runs, one GraphQL
query fetches jobs and approvals and one the pull requests and reviews of the deployed
commits. Whatever GraphQL cannot give (`audit.extract.graphql`) falls back to REST per run.
A completed run whose evidence is all stored is marked, and not fetched again.

A piece GitHub refuses is a degraded lookup (`degraded_lookups`): GraphQL refusing it
(`FORBIDDEN`, `NOT_FOUND`, a null) sends it to REST, and REST refusing it too (403 "Resource
not accessible by integration") leaves it unavailable, with the reason and the permission
the token lacks. So does a REST answer that is not what the endpoint documents (a null body,
an object without its list: `UnreadableAnswer`), with what was wrong and no permission, since
none is missing. An unavailable piece is not marked captured, and neither is its run, so a
later extraction (with a better token, or once GitHub answers properly) completes it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from audit.extract import graphql
from audit.extract.artifacts import ArtifactCollector
from audit.extract.client import AccessRefused, GitHubClient, UnreadableAnswer
from audit.extract.querylog import Started
from audit.extract.rows import approval_rows, job_row, pull_row, review_row
from audit.extract.session import CaptureSession
from audit.store import now_utc, to_json

PERMISSIONS = {
    "jobs": ("checks: read", "actions: read"),
    "approvals": ("actions: read", "actions: read"),
    "pull_requests": ("pull_requests: read", "pull_requests: read"),
    "reviews": ("pull_requests: read", "pull_requests: read"),
}
"""Per piece, the fine-grained permission GraphQL needs for it, and the one REST needs."""


BATCHES_AHEAD = 2
"""GraphQL batches asked for ahead of the writer, per query: the one it stores and the next.
Storing a batch takes its 100 runs' artifact downloads, time enough to fetch the next; more
would only queue before the downloads, and a stop (a spent budget) would drop their answers."""


@dataclass(frozen=True)
class _Answer:
    """One GraphQL query answered on any thread, with what it cost, for the writer to log."""

    name: str
    params: dict
    result: Any
    """The query's result, or the `GraphQLUnavailable` it raised."""
    started_at: str
    requests: int


class RunEvidenceCollector:
    """Captures the evidence of runs behind production deployments."""

    def __init__(self, session: CaptureSession, artifacts: ArtifactCollector):
        self.session = session
        self.store = session.store
        self.client = session.client
        self.artifacts = artifacts
        self._incomplete: set[object] = set()
        """Runs (ids) and commits (shas) with a piece GitHub refused, in the current batch."""
        self.degraded: dict[tuple[str, str], int] = {}
        """(piece, outcome) -> lookups of this extraction GitHub refused (outcome rest or unavailable)."""

    def collect(self, repository: str, runs: list[dict], advance: Callable[[], None]) -> None:
        """All evidence of `runs`; `advance()` after each run.

        Batched, the GraphQL queries of every batch and the artifact downloads are fetched
        side by side (`CaptureSession.fetcher`) while this thread stores the answers batch
        by batch, in the order a sequential run stores them.
        """
        self._incomplete.clear()
        if not self.session.batched:
            for run in runs:
                self._collect_one(repository, run)
                advance()
            return
        listed = self.artifacts.list_for_repository(repository, runs)
        batches = [runs[start : start + graphql.BATCH] for start in range(0, len(runs), graphql.BATCH)]
        run_answers = self._prefetch_run_evidence(repository, batches)
        commit_answers = self._prefetch_commit_pulls(repository, batches)
        artifacts = self.artifacts.store_listed(
            repository, {run["run_id"]: listed.get(run["run_id"], []) for run in runs}
        )
        for batch, run_answer, commit_answer in zip(batches, run_answers, commit_answers, strict=True):
            stored_shas: set[str] = set()
            for run in batch:  # run by run, so the writer's work never holds up the downloads for long
                self._store_jobs_and_approvals(repository, [run], run_answer)
                if run["head_sha"] not in stored_shas:  # each commit once per batch, as asked
                    stored_shas.add(run["head_sha"])
                    self._store_batch_pulls(repository, [run], commit_answer)
                artifacts.store_run(run["run_id"])
                self._mark_captured(repository, run)
                advance()

    def collect_jobs(self, repository: str, runs: list[dict]) -> None:
        """Only the jobs of `runs` (deploying-workflow runs no deployment names)."""
        if self.session.batched:
            batches = [runs[start : start + graphql.BATCH] for start in range(0, len(runs), graphql.BATCH)]
            answers = self._prefetch_run_evidence(repository, batches)
            for batch, answer in zip(batches, answers, strict=True):
                self._store_jobs_and_approvals(repository, batch, answer, approvals=False)
            return
        for run in runs:
            self._capture_jobs(repository, run["run_id"])

    def _collect_one(self, repository: str, run: dict) -> None:
        run_id = run["run_id"]
        self._capture_jobs(repository, run_id)
        self._capture_approvals(repository, run_id)
        self.artifacts.collect_for_run(repository, run_id)
        if run["head_sha"]:
            self._capture_pull_request(repository, run["head_sha"])
        self._mark_captured(repository, run)

    def _mark_captured(self, repository: str, run: dict) -> None:
        """A run still in progress may gain jobs and approvals: only a completed one is done,
        and only when GitHub refused none of its pieces."""
        refused = run["run_id"] in self._incomplete or run["head_sha"] in self._incomplete
        if run["status"] == "completed" and not refused:
            self.store.mark_evidence_captured(repository, run["run_id"], now_utc())

    def _degraded(
        self,
        repository: str,
        piece: str,
        subject: object,
        *,
        graphql_error: str | None,
        refused: AccessRefused | UnreadableAnswer | None = None,
    ) -> None:
        """Record a lookup GitHub refused: via REST after GraphQL, or unavailable (REST refused
        it too, or answered what the endpoint does not document: then no permission is named)."""
        graphql_permission, rest_permission = PERMISSIONS[piece]
        forbidden = graphql_error is not None and graphql_error.startswith("FORBIDDEN")
        permission = graphql_permission if forbidden else None
        if refused is not None:
            if piece != "reviews":  # a refused review list leaves its commit incomplete (caller)
                self._incomplete.add(subject)
        if isinstance(refused, AccessRefused):
            rest = _permission(refused.permission) or rest_permission
            permission = rest if permission in (None, rest) else f"{rest} (GraphQL: {permission})"
        elif isinstance(refused, UnreadableAnswer):
            permission = None
        outcome = "unavailable" if refused is not None else "rest"
        self.store.note_degraded_lookup(
            {
                "repository": repository,
                "piece": piece,
                "subject": str(subject),
                "outcome": outcome,
                "graphql_error": graphql_error,
                "rest_error": None if refused is None else refused.answer,
                "permission": permission,
                "quarter": str(self.session.quarter),
                "extraction_id": self.session.log.extraction_id,
                "captured_at": now_utc(),
            }
        )
        self.degraded[piece, outcome] = self.degraded.get((piece, outcome), 0) + 1

    # -- GraphQL batches -----------------------------------------------------------------

    def _prefetch(
        self, repository: str, name: str, asks: list[tuple[dict, dict] | None], call
    ) -> Iterator[_Answer | None]:
        """`call(client, **arguments)` for every (logged params, arguments) ask on the fetcher,
        answers in order (None: nothing to ask)."""

        def fetch(client: GitHubClient, ask: tuple[dict, dict] | None) -> _Answer | None:
            if ask is None or not self.session.graphql_available:
                return None
            params, arguments = ask
            started = self.session.log.begin()
            try:
                result = call(client, **arguments)
            except graphql.GraphQLUnavailable as why:
                result = why
            return _Answer(name, params, result, started.at, client.counter.by_this_thread - started.requests)

        for answer in self.session.fetcher.map(fetch, asks, look_ahead=BATCHES_AHEAD):
            yield self._recorded(repository, answer)

    def _recorded(self, repository: str, answer: _Answer | None) -> _Answer | None:
        """Log one GraphQL query; when GraphQL proved unavailable, switch this extraction
        to per-run REST requests (None: ask REST)."""
        if answer is None:
            return None
        session = self.session
        failed = isinstance(answer.result, graphql.GraphQLUnavailable)
        session.log.record(
            repository,
            answer.name,
            answer.params,
            Started(answer.started_at, 0),
            rows=0 if failed else len(answer.result),
            requests=answer.requests,
        )
        if failed:
            if session.graphql_available:
                session.graphql_available = False
                session.progress.say(f"{repository}: {answer.result}; asking REST per run instead")
            return None
        return answer

    def _prefetch_run_evidence(self, repository: str, batches: list[list[dict]]) -> Iterator[_Answer | None]:
        """Jobs and approvals of each batch of runs (those with a node id), one query each."""
        asks: list[tuple[dict, dict] | None] = []
        for batch in batches:
            ready = [(run, json.loads(run["raw"] or "{}").get("node_id")) for run in batch]
            ready = [(run, node) for run, node in ready if node]
            run_ids = [run["run_id"] for run, _ in ready]
            arguments = {
                "run_ids": run_ids,
                "node_ids": [node for _, node in ready],
                "run_attempts": [run["run_attempt"] for run, _ in ready],
            }
            asks.append(({"run_ids": run_ids}, arguments) if ready else None)
        return self._prefetch(
            repository,
            "POST /graphql nodes(ids:) WorkflowRun",
            asks,
            lambda client, run_ids, node_ids, run_attempts: dict(
                zip(run_ids, graphql.run_evidence(client, node_ids, run_attempts), strict=False)
            ),
        )

    def _prefetch_commit_pulls(self, repository: str, batches: list[list[dict]]) -> Iterator[_Answer | None]:
        """Pull requests and reviews of each batch's commits not looked up yet; one lookup per
        distinct commit, ever: a commit of an earlier batch is stored by the time a later
        batch is, so it is asked with the earlier one only."""
        asks: list[tuple[dict, dict] | None] = []
        seen: set[str] = set()
        for batch in batches:
            shas = sorted({run["head_sha"] for run in batch if run["head_sha"]})
            known = self.store.commit_pull_numbers(repository, shas)
            missing = [sha for sha in shas if sha not in known and sha not in seen]
            seen.update(shas)
            asks.append(({"shas": missing}, {"shas": missing}) if missing else None)
        return self._prefetch(
            repository,
            "POST /graphql repository.object(oid:) Commit",
            asks,
            lambda client, shas: graphql.commit_pulls(client, repository, shas),
        )

    def _store_jobs_and_approvals(
        self, repository: str, runs: list[dict], answer: _Answer | None, *, approvals: bool = True
    ) -> None:
        answers: dict[int, graphql.RunEvidence | None] = answer.result if answer is not None else {}
        for run in runs:
            run_id = run["run_id"]
            found = answers.get(run_id)
            refused = found.refused if found is not None else None
            if found is not None and found.jobs is not None:
                self._store_jobs(repository, run_id, found.jobs)
            else:
                self._capture_jobs(repository, run_id, graphql_error=refused)
            if not approvals:
                continue
            if found is not None and found.approvals is not None:
                self._store_approvals(repository, run_id, found.approvals)
            else:
                self._capture_approvals(repository, run_id, graphql_error=refused)

    def _store_batch_pulls(self, repository: str, runs: list[dict], answer: _Answer | None) -> None:
        """Store the batch's commits' pull requests and reviews; REST for what GraphQL did not give."""
        shas = sorted({run["head_sha"] for run in runs if run["head_sha"]})
        if not shas:
            return
        known = self.store.commit_pull_numbers(repository, shas)
        answers: dict[str, graphql.CommitPulls | None] = answer.result if answer is not None else {}
        for sha in shas:
            if sha in known:
                self._capture_missing_reviews(repository, known[sha], sha=sha)
                continue
            found = answers.get(sha)
            if found is None or found.pulls is None:
                self._capture_pull_request(repository, sha, graphql_error=found.refused if found else None)
            else:
                numbers = self._store_commit_pulls(repository, sha, found.pulls)
                self._capture_missing_reviews(repository, numbers, found.reviews, sha=sha, graphql_error=found.refused)

    # -- REST, per run -------------------------------------------------------------------

    def _run_url(self, repository: str, run_id: int) -> str:
        return f"{self.client.repo_url(repository)}/actions/runs/{run_id}"

    def _ask_rest(
        self, repository: str, piece: str, subject: object, graphql_error: str | None, fetch: Callable[[], list]
    ) -> list | None:
        """REST's answer for a piece GraphQL did not give (or that only REST asks), None when
        REST refuses it too or answers what the endpoint does not document; either way the
        detour is recorded in `degraded_lookups`."""
        try:
            answer = fetch()
        except (AccessRefused, UnreadableAnswer) as refused:
            self._degraded(repository, piece, subject, graphql_error=graphql_error, refused=refused)
            return None
        if graphql_error is not None:
            self._degraded(repository, piece, subject, graphql_error=graphql_error)
        return answer

    def _capture_jobs(self, repository: str, run_id: int, *, graphql_error: str | None = None) -> None:
        params = {"filter": "all"}
        jobs = self._ask_rest(
            repository,
            "jobs",
            run_id,
            graphql_error,
            lambda: self.session.log.listing(
                repository,
                "GET /repos/{owner}/{repo}/actions/runs/{id}/jobs",
                {"run_id": run_id, **params},
                f"{self._run_url(repository, run_id)}/jobs",
                key="jobs",
                request_params=params,
            ),
        )
        if jobs is not None:
            self._store_jobs(repository, run_id, jobs)

    def _store_jobs(self, repository: str, run_id: int, jobs: list[dict]) -> None:
        captured_at = now_utc()
        self.store.save_jobs([job_row(repository, run_id, job, captured_at) for job in jobs])
        self.store.mark_run_piece(repository, run_id, "jobs", captured_at)

    def _capture_approvals(self, repository: str, run_id: int, *, graphql_error: str | None = None) -> None:
        # PyGithub has no method for this endpoint, and its answer carries no timestamp.
        approvals = self._ask_rest(
            repository,
            "approvals",
            run_id,
            graphql_error,
            lambda: self.session.log.fetch(
                repository,
                "GET /repos/{owner}/{repo}/actions/runs/{id}/approvals",
                {"run_id": run_id},
                lambda: self.client.get(f"{self._run_url(repository, run_id)}/approvals").items(),
            ),
        )
        if approvals is not None:
            self._store_approvals(repository, run_id, approvals)

    def _store_approvals(self, repository: str, run_id: int, approvals: list[dict]) -> None:
        captured_at = now_utc()
        self.store.save_approvals(approval_rows(repository, run_id, approvals, captured_at))
        self.store.mark_run_piece(repository, run_id, "approvals", captured_at)

    def _capture_pull_request(self, repository: str, sha: str, *, graphql_error: str | None = None) -> None:
        numbers = self.store.commit_pull_numbers(repository, [sha]).get(sha)
        if numbers is None:
            pulls = self._ask_rest(
                repository,
                "pull_requests",
                sha,
                graphql_error,
                lambda: self.session.log.listing(
                    repository,
                    "GET /repos/{owner}/{repo}/commits/{sha}/pulls",
                    {"sha": sha},
                    f"{self.client.repo_url(repository)}/commits/{sha}/pulls",
                ),
            )
            if pulls is None:
                return
            numbers = self._store_commit_pulls(repository, sha, pulls)
        self._capture_missing_reviews(repository, numbers, sha=sha)

    def _store_commit_pulls(self, repository: str, sha: str, pulls: list[dict]) -> list[int]:
        captured_at = now_utc()
        numbers = [pr["number"] for pr in pulls]
        self.store.save_commit_pulls(
            [pull_row(repository, pr, captured_at) for pr in pulls],
            {"repository": repository, "sha": sha, "pr_numbers": to_json(numbers), "captured_at": captured_at},
        )
        return numbers

    def _capture_missing_reviews(
        self,
        repository: str,
        numbers: list[int],
        known: dict | None = None,
        *,
        sha: str,
        graphql_error: str | None = None,
    ) -> None:
        """Reviews of each pull request not captured yet (`known`: reviews in hand by number),
        open ones too: an emergency change is reviewed after deploying. A refusal leaves the
        deployed commit `sha` incomplete."""
        for number in numbers:
            pr = self.store.pull_request(repository, number)
            if not pr["reviews_captured_at"]:
                reviews = (known or {}).get(number)
                if reviews is None:
                    reviews = self._ask_rest(
                        repository,
                        "reviews",
                        number,
                        graphql_error,
                        functools.partial(
                            self.session.log.listing,
                            repository,
                            "GET /repos/{owner}/{repo}/pulls/{number}/reviews",
                            {"pull_number": number},
                            f"{self.client.repo_url(repository)}/pulls/{number}/reviews",
                        ),
                    )
                    if reviews is None:
                        self._incomplete.add(sha)  # a refused review list leaves its commit incomplete
                        continue
                self._store_reviews(repository, number, reviews)

    def _store_reviews(self, repository: str, number: int, reviews: list[dict]) -> None:
        captured_at = now_utc()
        self.store.save_reviews(
            repository, number, [review_row(repository, number, review, captured_at) for review in reviews], captured_at
        )


def _permission(accepted: str | None) -> str | None:
    """GitHub's `x-accepted-github-permissions` (`actions=read; checks=read`) as we write it."""
    if not accepted:
        return None
    return ", ".join(part.strip().replace("=", ": ") for part in accepted.split(";") if part.strip())
