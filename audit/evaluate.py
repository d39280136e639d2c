"""Evaluation: stored rows -> one `DeploymentEvidence` per deployment -> verdicts in the store.

The population: one row per (repository, run id, environment) for every
workflow run created in the quarter that a production deployment links to. The link is
the deployment statuses' `target_url` (`/actions/runs/{run_id}/job/{job_id}`), captured at
extraction. Controls are pure; this module only reads the store and writes verdicts.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import operator
import os
import pickle
import queue
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring
from multiprocessing.connection import Connection
from pathlib import Path

from audit.collector import no_cycle_collection
from audit.config import Settings
from audit.controls import CONTROLS, deploy_approvers, evaluate_all, outcome, pr_approvers
from audit.controls.change_emergency_reviewed import emergency_review
from audit.errors import transportable
from audit.evidence import (
    Approval,
    Artifact,
    DeploymentEvidence,
    DeploymentStatus,
    EvidenceGap,
    Finding,
    Job,
    PullRequest,
    Review,
    approval_times,
)
from audit.oidc import oidc_capable
from audit.period import Period, as_period
from audit.quarter import Quarter
from audit.reperform import run_sql
from audit.store import now_utc, to_json, upsert_all
from audit.times import iso, iso_z, parse

VERDICT_COLUMNS = ("quarter", "repository", "run_id", "environment", "control_id", "verdict", "detail", "evidence")
"""The columns of a stored verdict, in the order `evaluate_quarter` writes them."""
POPULATION_COLUMNS = ("quarter", "repository", "run_id", "environment", "deployment_id", "facts", "emergency_review")
"""The columns of a stored population member, in the order `evaluate_quarter` writes them."""


@dataclass(frozen=True)
class EvaluationSummary:
    quarter: str
    population: int
    counts: dict[str, dict[str, int]]
    """control id -> verdict -> number of deployments."""
    evaluated_at: str


@no_cycle_collection()
def evaluate_quarter(
    db, quarter: Period | Quarter, settings: Settings, *, demo: bool, evaluated_at: str | None = None
) -> EvaluationSummary:
    """Judge every deployment of the quarter and store the verdicts (replacing earlier ones)."""
    evaluated_at = evaluated_at or latest_capture_time(db) or now_utc()
    label = str(quarter)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows: list[tuple] = []
    population = 0
    found = population_keys(db, quarter, settings)
    described: dict[tuple, tuple[str, str | None]] = {}
    # One transaction from the deletion to the last verdict: the verdicts go to the store in
    # batches as the deployments are judged, so a quarter's 500,000 are never all in memory,
    # and a failure still leaves the previous evaluation in place. Opened here: sqlite-utils
    # commits each write at once when no transaction is open.
    with db.atomic():
        _delete_quarter(db, "verdicts", label)
        _delete_quarter(db, "population", label)
        for member, facts, verdicts in _judged(db, found, settings, label):
            population += 1
            described[member] = facts
            for verdict_row in verdicts:
                counts[verdict_row[4]][verdict_row[5]] += 1
            rows.extend(verdicts)
            if len(rows) >= VERDICT_BATCH:
                _insert_verdicts(db, rows)
                rows.clear()
        _insert_verdicts(db, rows)
        db.conn.executemany(
            f"insert into population ({', '.join(POPULATION_COLUMNS)}) "
            f"values ({', '.join('?' * len(POPULATION_COLUMNS))})",
            [
                (label, key["repository"], key["run_id"], key["environment"], key["deployment_id"])
                + described[(key["repository"], key["run_id"], key["environment"])]
                for key in found
            ],
        )
        upsert_all(
            db,
            "evaluations",
            [
                {
                    "quarter": label,
                    "evaluated_at": evaluated_at,
                    "settings": to_json(settings.as_dict()),
                    "population": population,
                    "demo": int(demo),
                }
            ],
        )
    return EvaluationSummary(label, population, {k: dict(v) for k, v in counts.items()}, evaluated_at)


Judged = tuple[tuple[str, int, str], tuple[str, str | None], list[tuple]]
"""One deployment judged: (repository, run id, environment), its facts and emergency review
as JSON for the `population` table, and its verdict rows (`VERDICT_COLUMNS`)."""


def _judgements(index: _EvidenceIndex, keys: list[dict], settings: Settings, label: str) -> Iterator[Judged]:
    """Each deployment of `keys`, in order, assembled from the index and judged."""
    for key in keys:
        deployment = index.deployment(key)
        review = emergency_facts(deployment, settings)
        facts = deployment_facts(deployment, index.workflows.get((deployment.repository, deployment.run_id)))
        yield (
            (deployment.repository, deployment.run_id, deployment.environment),
            (_facts_json(facts), None if review is None else _facts_json(review)),
            [
                (
                    label,
                    deployment.repository,
                    deployment.run_id,
                    deployment.environment,
                    control_id,
                    verdict.verdict,
                    verdict.detail,
                    _evidence_json(verdict.evidence),
                )
                for control_id, verdict in evaluate_all(deployment, settings).items()
            ],
        )


def _judged_slices(
    conn: sqlite3.Connection, slices: list[list[dict]], settings: Settings, label: str
) -> Iterator[list[Judged]]:
    """Each slice read from the store through `conn` and judged, in order; only one slice's
    evidence is held at a time."""
    store_wide = _StoreWide(conn)
    for keys in slices:
        yield list(_judgements(_EvidenceIndex(conn, keys, store_wide), keys, settings, label))


JUDGED_BESIDE_FROM = 2_000
"""Deployments from which a forked process judges part of the quarter beside the evaluating one."""


def _judged_beside(number: int) -> bool:
    """Whether the process beside judges slice `number`: two of every three, since the
    evaluating process also writes every verdict (at 50,000 deployments, with three fifths
    beside, this process used 12-15 s of CPU and the one beside 9-12 s)."""
    return number % 3 != 0


_AHEAD = 2
"""Judged slices the process beside may hold, pickled, before the evaluation takes them: it
judges on instead of waiting for each slice to be read, and its memory stays bounded."""


def _judged(db, keys: list[dict], settings: Settings, label: str) -> Iterator[Judged]:
    """Every deployment of `keys` judged, oldest first, slice by slice (`EVALUATION_SLICE`).

    Judging is pure computation over the evidence, so from `JUDGED_BESIDE_FROM` deployments a
    forked process reads and judges two slices of every three (`_judged_beside`) while this one
    reads and judges the third and writes every verdict; the slices judged beside are
    taken in their turn, so the store gets the same rows in the same order as judged here
    alone. Only this process writes the store. An error beside is raised here (the quarter's
    transaction rolls back); an error here stops the process beside."""
    slices = _sliced(_oldest_first(db.conn, keys))
    store = _store_beside(db)
    if len(keys) < JUDGED_BESIDE_FROM or store is None or "fork" not in multiprocessing.get_all_start_methods():
        for judged in _judged_slices(db.conn, slices, settings, label):
            yield from judged
        return
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(
        target=_judge_beside,
        args=(theirs, store, [part for number, part in enumerate(slices) if _judged_beside(number)], settings, label),
        name="soc2-audit-evaluate",
        daemon=True,
    )
    process.start()
    theirs.close()
    store_wide = _StoreWide(db.conn)
    try:
        for number, part in enumerate(slices):
            if not _judged_beside(number):
                yield from _judgements(_EvidenceIndex(db.conn, part, store_wide), part, settings, label)
                continue
            try:
                kind, payload = ours.recv()
            except (EOFError, ConnectionResetError):
                process.join()
                raise RuntimeError(
                    f"the process judging part of the quarter beside ended without its verdicts "
                    f"(exit code {process.exitcode})"
                ) from None
            if kind == "error":
                raise payload
            yield from payload
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        ours.close()


def _store_beside(db) -> str | None:
    """The store's file as a URI for a read-only connection of the process beside, or None
    when the store cannot be read beside the evaluation's open transaction.

    Only in WAL mode: a reader there sees the last commit and never blocks the writer (with a
    rollback journal, its shared lock would stop this process spilling or committing). The
    evaluation takes the write lock (deleting the quarter's verdicts) before it forks and
    keeps it until its commit, after the last slice judged beside is received: no one commits
    evidence meanwhile, so the process beside reads exactly the evidence this one reads, and
    the evaluation itself writes only derived tables, which judging never reads."""
    journal_mode = db.conn.execute("pragma journal_mode").fetchone()[0]
    path = next((file for _, name, file in db.conn.execute("pragma database_list") if name == "main"), "")
    if journal_mode.lower() != "wal" or not path:
        return None
    return Path(path).as_uri() + "?mode=ro"


def _judge_beside(connection: Connection, store: str, slices: list[list[dict]], settings: Settings, label: str) -> None:
    """The forked judge: its slices read through a read-only connection of its own and judged,
    each sent back pickled as one message, in order.

    SQLite connections must not cross a fork: the one inherited is never used here. A thread
    sends, so judging goes on while the evaluation is busy with its own slices (`_AHEAD`)."""
    pending: queue.Queue[bytes] = queue.Queue(maxsize=_AHEAD)

    def send() -> None:
        """Sends until a send fails, then ends the process at once: either the evaluation has
        stopped (it has its own error to show) or it sees the pipe close and fails."""
        try:
            while True:
                connection.send_bytes(pending.get())
                pending.task_done()
        finally:
            os._exit(1)

    threading.Thread(target=send, daemon=True).start()
    try:
        conn = sqlite3.connect(store, uri=True)
        try:
            for judged in _judged_slices(conn, slices, settings, label):
                pending.put(pickle.dumps(("judged", judged), pickle.HIGHEST_PROTOCOL))
        finally:
            conn.close()
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the evaluation
        pending.put(pickle.dumps(("error", transportable(error))))
    pending.join()  # every message sent before the process ends


def deployment_facts(evidence: DeploymentEvidence, workflow_text: str | None) -> dict:
    """The deployment as findings.json and population.csv list it: the run, its pull request,
    the approvers and approval times the controls judged, the outcome, whether it could use OIDC."""
    requested_at, approved_at = approval_times(evidence.statuses)
    pr = evidence.pull_request
    return {
        "repository": evidence.repository,
        "run_id": evidence.run_id,
        "run_attempt": evidence.run_attempt,
        "environment": evidence.environment,
        "head_sha": evidence.head_sha,
        "head_branch": evidence.head_branch,
        "actor": evidence.actor,
        "triggering_actor": evidence.triggering_actor,
        "created_at": iso(evidence.created_at),
        "outcome": outcome(evidence),
        "html_url": evidence.html_url,
        "pr_number": pr.number if pr else None,
        "pr_author": pr.author if pr else None,
        "pr_title": pr.title if pr else None,
        "pr_approvers": sorted(pr_approvers(evidence)),
        "deploy_approvers": sorted(deploy_approvers(evidence)),
        "approval_requested_at": iso(requested_at),
        "approved_at": iso(approved_at),
        "oidc_token": oidc_capable(workflow_text, evidence.deploy_job.name if evidence.deploy_job else None),
    }


def emergency_facts(evidence: DeploymentEvidence, settings: Settings) -> dict | None:
    """What the emergency-changes section shows of an emergency deployment's review; None for a normal one."""
    review = emergency_review(evidence, settings)
    if review is None:
        return None
    return {
        "reason": review.reason,
        "deployed_at": iso(review.deployed_at),
        "review_deadline": iso(review.deadline),
        "pr_number": review.pull_request.number if review.pull_request else None,
        "approved_at": iso(review.approved_at),
        "approvers": list(review.approvers),
    }


REPEATED_FACTS = ("repository", "environment", "outcome", "actor", "triggering_actor", "head_branch", "pr_author")
"""Facts whose few values repeat from deployment to deployment: one string each, not one per deployment."""


def stored_population(db, quarter: Period | Quarter) -> list[tuple[dict, dict | None]]:
    """The quarter's deployments as evaluated, oldest first: (`deployment_facts`, `emergency_facts`).

    What the report lists is read back, not re-derived from the evidence: the render shows
    exactly what the controls judged, and a 10,000-deployment quarter is not loaded twice.
    The facts are decoded in one call, so that every deployment shares its keys' strings,
    and the `REPEATED_FACTS` share theirs: the findings of 50,000 deployments, which the
    render holds until the last file beside the PDF is written, took 60 MB less."""
    rows = db.conn.execute(
        "select facts, emergency_review from population where quarter = ?", [str(quarter)]
    ).fetchall()
    decoded = json.loads("[" + ",".join(facts for facts, _ in rows) + "]")
    strings: dict[str, str] = {}
    shared = strings.setdefault
    for facts in decoded:
        for name in REPEATED_FACTS:
            value = facts.get(name)
            if value.__class__ is str:
                facts[name] = shared(value, value)
    members = [
        (facts, None if review is None else json.loads(review))
        for facts, (_, review) in zip(decoded, rows, strict=True)
    ]
    members.sort(
        key=lambda member: (
            parse(member[0]["created_at"]),
            member[0]["repository"],
            member[0]["run_id"],
            member[0]["environment"],
        )
    )
    return members


VERDICT_BATCH = 10_000
"""Verdict rows held before they are written."""


def _insert_verdicts(db, rows: list[tuple]) -> None:
    """Plain inserts through sqlite3 itself, the quarter's rows being deleted first: a tenth of
    the time sqlite-utils' insert_all takes to inspect every value of 90,000 rows."""
    db.conn.executemany(
        f"insert into verdicts ({', '.join(VERDICT_COLUMNS)}) values ({', '.join('?' * len(VERDICT_COLUMNS))})", rows
    )


_facts_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""Compact JSON keeping the keys' order: findings.json lists a deployment's fields in it."""


def _evidence_json(evidence: tuple[str, ...]) -> str:
    """`store.to_json` of a verdict's evidence, a list of strings, joined directly from each
    string's JSON (the encoder's own function): the same text in a third of the encoder's time,
    for each of a quarter's 100,000 verdicts."""
    return "[" + ",".join(map(encode_basestring, evidence)) + "]"


def _delete_quarter(db, table: str, label: str) -> None:
    """Delete the quarter's rows of a derived table; all of them at once when it holds no other
    quarter, which SQLite does without visiting (and unindexing) 100,000 rows one by one."""
    # Two subqueries: SQLite answers each min or max from the index on `quarter` alone.
    lowest, highest = db.execute(
        f"select (select min(quarter) from [{table}]), (select max(quarter) from [{table}])"
    ).fetchone()
    if lowest is None or lowest == highest == label:
        db.execute(f"delete from [{table}]")
    else:
        db.execute(f"delete from [{table}] where quarter = ?", [label])


def stored_verdicts(db, quarter: Period | Quarter, *, with_evidence: bool = False) -> dict:
    """(repository, run_id, environment) -> {control id: {verdict, detail[, evidence]}}, contract order."""
    order = {control.id: index for index, control in enumerate(CONTROLS)}
    contract = tuple(order)
    columns = ", ".join(("repository", "run_id", "environment", "control_id", "verdict", "detail"))
    result: dict = {}
    strings: dict[str, str] = {}
    shared = strings.setdefault  # one string per control id and verdict, not one per row
    # Plain tuples from sqlite3: a dict per row (sqlite-utils' `query`) cost half the time for 100,000 verdicts.
    for row in db.conn.execute(
        f"select {columns}{', evidence' if with_evidence else ''} from verdicts where quarter = ?", [str(quarter)]
    ):
        entry = {"verdict": shared(row[4], row[4]), "detail": row[5]}
        if with_evidence:
            entry["evidence"] = json.loads(row[6] or "[]")
        key = row[:3]
        controls = result.get(key)
        if controls is None:
            controls = result[key] = {}
        controls[shared(row[3], row[3])] = entry
    for key, controls in result.items():
        # The evaluation stores each deployment's verdicts in contract order: sorted only when not.
        if tuple(controls) != contract:
            result[key] = dict(sorted(controls.items(), key=lambda item: order.get(item[0], len(order))))
    return result


def extractions_overlapping(db, period: Period | Quarter) -> list[dict]:
    """The extractions whose period overlaps `period`, oldest first: a year is captured quarter by quarter."""
    wanted = as_period(period)
    return [
        dict(row)
        for row in db.query("select * from extractions order by extraction_id")
        if Period.parse(row["quarter"]).overlaps(wanted)
    ]


def latest_capture_time(db) -> str | None:
    """When the evidence was last captured: pins `generated_at` so re-renders are identical."""
    row = db.execute("select max(coalesce(finished_at, started_at)) from extractions").fetchone()
    return row[0] if row else None


def population_keys(db, quarter: Period | Quarter, settings: Settings) -> list[dict]:
    """(repository, run_id, environment, deployment_id) of every deployment in the quarter.

    Computed by the shipped `audit/reperform/population.sql`, the same query an auditor
    runs, so the population we judge and the one they recompute cannot differ.
    """
    start, end = quarter.bounds(settings.timezone)
    return run_sql(
        db,
        "population",
        start=iso_z(start),
        end=iso_z(end),
        environments=to_json(list(settings.production_environments)),
    )


def load_deployments(
    db, quarter: Period | Quarter, settings: Settings, *, keys: list[dict] | None = None
) -> Iterator[DeploymentEvidence]:
    """Assemble each deployment of the quarter from the store, oldest first.

    The evidence is read slice by slice (`EVALUATION_SLICE`), one query per table for each
    slice (not per deployment): a quarter of 10,000 deployments loads in seconds. `keys`: the
    population when the caller already computed it.
    """
    if keys is None:
        keys = population_keys(db, quarter, settings)
    store_wide = _StoreWide(db.conn)
    for part in _sliced(_oldest_first(db.conn, keys)):
        index = _EvidenceIndex(db.conn, part, store_wide)
        for key in part:
            yield index.deployment(key)


EVALUATION_SLICE = 2_000
"""Deployments whose evidence is read and judged together.

A slice's evidence takes about 8.5 KiB a deployment in memory (tracemalloc, seeded store), so
a judging process holds some 17 MB of it whatever the quarter's size (read whole, a
50,000-deployment quarter's evaluation peaked at 1,056 MB over its two processes). Reading
costs the same per deployment whatever the slice (0.15 ms; a slice's queries add a few
milliseconds), so the size only trades memory against how evenly the two judging processes
share a quarter: 5 slices at 10,000 deployments, 25 at 50,000."""


def _sliced(keys: list[dict]) -> list[list[dict]]:
    return [keys[start : start + EVALUATION_SLICE] for start in range(0, len(keys), EVALUATION_SLICE)]


def _oldest_first(conn: sqlite3.Connection, keys: list[dict]) -> list[dict]:
    """`keys` in judging order: their run's creation, then repository, run id and environment.

    Known before any evidence is read, from one narrow query (the runs' creation times), so
    the quarter can be read slice by slice and still be judged in the order of one read."""
    _fill_keys(conn, keys)
    created = {
        (repository, run_id): parse(created_at)
        for repository, run_id, created_at in conn.execute(
            f"select w.repository, w.run_id, w.created_at from workflow_runs w join {RUNS_OF_KEYS} k "
            "using (repository, run_id)"
        )
    }
    return sorted(
        keys,
        key=lambda key: (
            created[(key["repository"], key["run_id"])],
            key["repository"],
            key["run_id"],
            key["environment"],
        ),
    )


RUNS_OF_KEYS = "(select distinct repository, run_id from temp.evaluation_keys)"
"""The runs of the keys being read (`_fill_keys`), to join evidence tables with."""


def _fill_keys(conn: sqlite3.Connection, keys: list[dict]) -> None:
    """`temp.evaluation_keys` holds exactly `keys`: the evidence is read by joining it."""
    conn.execute(
        "create temp table if not exists evaluation_keys (repository text, run_id integer, deployment_id integer)"
    )
    conn.execute("delete from temp.evaluation_keys")
    conn.executemany(
        "insert into temp.evaluation_keys values (?, ?, ?)",
        [(k["repository"], k["run_id"], k["deployment_id"]) for k in keys],
    )


RUN_COLUMNS = ", ".join(
    f"w.{column}"
    for column in (
        "repository",
        "run_id",
        "run_attempt",
        "head_sha",
        "head_branch",
        "actor",
        "triggering_actor",
        "event",
        "created_at",
        "html_url",
    )
)
JOB_COLUMNS = ", ".join(
    f"j.{column}"
    for column in (
        "job_id",
        "repository",
        "run_id",
        "run_attempt",
        "name",
        "status",
        "conclusion",
        "started_at",
        "completed_at",
    )
)
PULL_REQUEST_COLUMNS = ", ".join(
    f"p.{column}"
    for column in (
        "repository",
        "number",
        "author",
        "title",
        "merged_at",
        "merge_commit_sha",
        "head_sha",
        "html_url",
        "labels",
        "reviews_captured_at",
    )
)
"""The columns the evidence records are built from: never GitHub's `raw` JSON, kilobytes a row."""


class _StoreWide:
    """The rows every deployment's evidence may need, whatever its run: refused lookups,
    default branches, environments' required reviewers. Read once per judging process."""

    def __init__(self, conn: sqlite3.Connection):
        self.gaps = _grouped(
            _rows(
                conn,
                "select repository, piece, subject, coalesce(rest_error, graphql_error) as reason, permission "
                "from degraded_lookups where outcome = 'unavailable'",
            ),
            "repository",
            "subject",
        )
        self.default_branches = {
            r["full_name"]: r["default_branch"]
            for r in _rows(conn, "select full_name, default_branch from repositories")
        }
        self.required_reviewers = {
            (r["repository"], r["environment"]): r["required_reviewers"]
            for r in _rows(
                conn,
                "select repository, environment, required_reviewers from environment_snapshots order by captured_at",
            )
        }


class _EvidenceIndex:
    """Every stored row the evidence of `keys` (a slice of the population) needs, grouped by what it
    belongs to; the tables about the whole store come from `store_wide`, read once."""

    def __init__(self, conn: sqlite3.Connection, keys: list[dict], store_wide: _StoreWide):
        _fill_keys(conn, keys)
        self.runs = {
            (r["repository"], r["run_id"]): r
            for r in _rows(
                conn, f"select {RUN_COLUMNS} from workflow_runs w join {RUNS_OF_KEYS} k using (repository, run_id)"
            )
        }
        self.deployments = {
            r["deployment_id"]: r
            for r in _rows(
                conn,
                "select d.deployment_id, d.job_id, d.statuses_captured_at from deployments d "
                "join temp.evaluation_keys k using (deployment_id)",
            )
        }
        self.jobs = _grouped(
            _rows(
                conn,
                f"select {JOB_COLUMNS} from jobs j join {RUNS_OF_KEYS} k using (repository, run_id) "
                "order by j.run_attempt, j.job_id",
            ),
            "repository",
            "run_id",
        )
        self.jobs_by_id = {
            r["job_id"]: r
            for r in _rows(
                conn,
                f"select {JOB_COLUMNS} from jobs j join deployments d on d.job_id = j.job_id "
                "join temp.evaluation_keys k on k.deployment_id = d.deployment_id",
            )
        }
        self.captures = _grouped(
            _rows(
                conn,
                "select c.repository, c.run_id, c.what from run_captures c "
                f"join {RUNS_OF_KEYS} k using (repository, run_id)",
            ),
            "repository",
            "run_id",
        )
        self.statuses = _grouped(
            _rows(
                conn,
                "select s.deployment_id, s.status_id, s.state, s.created_at, s.node_id from deployment_statuses s "
                "join temp.evaluation_keys k using (deployment_id) "
                "order by s.created_at, s.status_key",
            ),
            "deployment_id",
        )
        self.approvals = _grouped(
            _rows(
                conn,
                "select a.repository, a.run_id, a.user, a.state, a.environments, a.comment "
                f"from approvals a join {RUNS_OF_KEYS} k using (repository, run_id) order by a.seq",
            ),
            "repository",
            "run_id",
        )
        self.artifacts = _grouped(
            _rows(
                conn,
                "select a.artifact_id, a.repository, a.run_id, a.name, a.capture_status, a.scan_format, "
                "a.capture_detail, a.sha256, a.scan_gaps "
                f"from artifacts a join {RUNS_OF_KEYS} k using (repository, run_id) "
                "order by a.artifact_id",
            ),
            "repository",
            "run_id",
        )
        self.findings = _grouped(
            _rows(
                conn,
                "select f.artifact_id, f.tool, f.severity, f.rule_id, f.title, f.location "
                f"from scan_findings f join artifacts a using (artifact_id) join {RUNS_OF_KEYS} k "
                "on k.repository = a.repository and k.run_id = a.run_id order by f.seq",
            ),
            "artifact_id",
        )
        self.commit_pulls = {
            (r["repository"], r["sha"]): json.loads(r["pr_numbers"])
            for r in _rows(
                conn,
                "select c.repository, c.sha, c.pr_numbers from commit_pulls c "
                "join workflow_runs w on w.repository = c.repository and w.head_sha = c.sha "
                f"join {RUNS_OF_KEYS} k on k.repository = w.repository and k.run_id = w.run_id",
            )
        }
        conn.execute("create temp table if not exists evaluation_pulls (repository text, number integer)")
        conn.execute("delete from temp.evaluation_pulls")
        conn.executemany(
            "insert into temp.evaluation_pulls values (?, ?)",
            sorted({(repository, n) for (repository, _), numbers in self.commit_pulls.items() for n in numbers}),
        )
        self.pull_requests = {
            (r["repository"], r["number"]): r
            for r in _rows(
                conn,
                f"select {PULL_REQUEST_COLUMNS} from pull_requests p "
                "join temp.evaluation_pulls k using (repository, number)",
            )
        }
        self.reviews = _grouped(
            _rows(
                conn,
                "select r.repository, r.pr_number, r.review_id, r.user, r.state, r.submitted_at, r.commit_id "
                "from reviews r join temp.evaluation_pulls k "
                "on k.repository = r.repository and k.number = r.pr_number order by r.submitted_at, r.review_id",
            ),
            "repository",
            "pr_number",
        )
        self.workflows = {
            (repository, run_id): text
            for repository, run_id, text in conn.execute(
                "select r.repository, r.run_id, b.text from workflow_runs r "
                f"join {RUNS_OF_KEYS} k using (repository, run_id) "
                "join workflow_files f "
                "on f.repository = r.repository and f.path = r.path and f.commit_sha = r.head_sha "
                "join workflow_blobs b on b.repository = f.repository and b.blob_sha = f.blob_sha"
            )
        }
        """(repository, run_id) -> the text of the run's workflow file at its commit, where captured."""
        self.gaps = store_wide.gaps
        self.default_branches = store_wide.default_branches
        self.required_reviewers = store_wide.required_reviewers

    def deployment(self, key: dict) -> DeploymentEvidence:
        repository, run_id, environment = key["repository"], key["run_id"], key["environment"]
        run = self.runs[(repository, run_id)]
        deployment = self.deployments[key["deployment_id"]]
        jobs = self._latest_jobs(repository, run_id)
        deploy_job = next((job for job in jobs if job.job_id == deployment["job_id"]), None)
        if deploy_job is None and deployment["job_id"] in self.jobs_by_id:
            deploy_job = _job(self.jobs_by_id[deployment["job_id"]])
        captured = {row["what"] for row in self.captures.get((repository, run_id), [])}
        artifacts = tuple(self._artifacts(repository, run_id))
        commit_pull_requests = self._commit_pull_requests(repository, run["head_sha"])
        pull_request = _deployed_pull_request(commit_pull_requests, run["head_sha"])
        return DeploymentEvidence(
            repository=repository,
            run_id=run_id,
            run_attempt=run["run_attempt"],
            environment=environment,
            head_sha=run["head_sha"],
            head_branch=run["head_branch"],
            default_branch=self.default_branches.get(repository),
            actor=run["actor"],
            triggering_actor=run["triggering_actor"],
            event=run["event"],
            created_at=parse(run["created_at"]),
            html_url=run["html_url"],
            deploy_job=deploy_job,
            jobs_captured="jobs" in captured,
            jobs=jobs,
            pull_requests_captured=(repository, run["head_sha"]) in self.commit_pulls,
            pull_request=pull_request,
            commit_pull_requests=commit_pull_requests,
            approvals_captured="approvals" in captured,
            approvals=tuple(
                Approval(row["user"], row["state"], _names(row["environments"] or "[]"), row["comment"])
                for row in self.approvals.get((repository, run_id), [])
            ),
            statuses_captured=deployment["statuses_captured_at"] is not None,
            statuses=tuple(
                DeploymentStatus(row["status_id"], row["state"], parse(row["created_at"]), row["node_id"])
                for row in self.statuses.get(key["deployment_id"], [])
            ),
            required_reviewers=self.required_reviewers.get((repository, environment)),
            artifacts=artifacts,
            gaps=self._gaps(repository, run_id, run["head_sha"], captured, pull_request)
            + self._statuses_gap(repository, deployment),
        )

    def _gaps(
        self, repository: str, run_id: int, sha: str | None, captured: set[str], pull_request: PullRequest | None
    ) -> tuple[EvidenceGap, ...]:
        """The refused pieces of this deployment's evidence that no capture has filled since."""
        wanted = {(str(run_id), piece) for piece in ("jobs", "approvals") if piece not in captured}
        if sha and (repository, sha) not in self.commit_pulls:
            wanted.add((sha, "pull_requests"))
        if pull_request is not None and not pull_request.reviews_captured:
            wanted.add((str(pull_request.number), "reviews"))
        return tuple(
            EvidenceGap(row["piece"], row["reason"], row["permission"])
            for subject in sorted({subject for subject, _ in wanted})
            for row in self.gaps.get((repository, subject), [])
            if (subject, row["piece"]) in wanted
        )

    def _statuses_gap(self, repository: str, deployment) -> tuple[EvidenceGap, ...]:
        """GitHub's refusal of the deployment's statuses, while no capture has them."""
        if deployment["statuses_captured_at"] is not None:
            return ()
        return tuple(
            EvidenceGap(row["piece"], row["reason"], row["permission"])
            for row in self.gaps.get((repository, str(deployment["deployment_id"])), [])
            if row["piece"] == "statuses"
        )

    def _latest_jobs(self, repository: str, run_id: int) -> tuple[Job, ...]:
        """The latest execution of each job name (what `jobs?filter=latest` would return)."""
        latest = {row["name"]: row for row in self.jobs.get((repository, run_id), [])}
        return tuple(_job(row) for row in latest.values())

    def _commit_pull_requests(self, repository: str, sha: str | None) -> tuple[PullRequest, ...]:
        """Every stored pull request of the deployed commit, in GitHub's order, with its reviews."""
        numbers = self.commit_pulls.get((repository, sha)) if sha else None
        pulls = [self.pull_requests[(repository, n)] for n in numbers or () if (repository, n) in self.pull_requests]
        return tuple(self._pull_request_record(repository, row) for row in pulls)

    def _pull_request_record(self, repository: str, row: dict) -> PullRequest:
        reviews = tuple(
            Review(r["review_id"], r["user"], r["state"], parse(r["submitted_at"]), r["commit_id"])
            for r in self.reviews.get((repository, row["number"]), [])
        )
        labels = row["labels"]
        return PullRequest(
            row["number"],
            row["author"],
            row["title"],
            parse(row["merged_at"]),
            row["merge_commit_sha"],
            row["head_sha"],
            row["html_url"],
            reviews,
            None if labels is None else _names(labels),
            parse(row["reviews_captured_at"]),
            reviews_captured=row["reviews_captured_at"] is not None,
        )

    def _artifacts(self, repository: str, run_id: int) -> Iterator[Artifact]:
        for row in self.artifacts.get((repository, run_id), []):
            findings = tuple(
                Finding(f["tool"], f["severity"], f["rule_id"], f["title"], f["location"])
                for f in self.findings.get(row["artifact_id"], [])
            )
            yield Artifact(
                row["artifact_id"],
                row["name"],
                row["capture_status"],
                row["scan_format"],
                row["capture_detail"],
                row["sha256"],
                findings,
                row["scan_gaps"],
            )


def _rows(conn: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
    """The rows of `sql` as `sqlite3.Row` (read by column name, built in C): sqlite-utils'
    `query` builds a dict per row in Python, a quarter of the evidence loading's time."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql)


def _deployed_pull_request(pulls: tuple[PullRequest, ...], sha: str | None) -> PullRequest | None:
    """The merged PR whose merge commit is the deployed sha, else the first merged one."""
    merged = [pr for pr in pulls if pr.merged_at]
    return next((pr for pr in merged if pr.merge_commit_sha == sha), merged[0] if merged else None)


@functools.cache
def _names(stored: str) -> tuple[str, ...]:
    """A stored JSON array of names (environments, labels) as a tuple: a quarter repeats a few
    arrays thousands of times, each decoded once."""
    return tuple(json.loads(stored))


def _grouped(rows, *key_columns: str) -> dict:
    """Rows grouped by their key columns, keeping the query's order within each group."""
    groups: dict = defaultdict(list)
    key = operator.itemgetter(*key_columns)  # one column: its value; more: a tuple of them
    for row in rows:
        groups[key(row)].append(row)
    return groups


def _job(row: dict) -> Job:
    return Job(
        row["job_id"],
        row["name"],
        row["status"],
        row["conclusion"],
        parse(row["started_at"]),
        parse(row["completed_at"]),
        row["run_attempt"],
    )
