"""Management responses: the compliance lead's justification beside an exception.

Responses live in a TOML file (`--responses PATH`, else env `AUDIT_RESPONSES`, else
`responses.toml` in the working directory when it exists), edited by hand and reviewed in
a pull request like any other change. One `[[response]]` table per answer:

    [[response]]
    repository  = "acme/payments-api"
    run_id      = 9000000687
    control     = "evidence.retained"      # a control id, or "*" for every exception of the run
    category    = "compensating-control"
    response    = "Statuses expired before the first extraction; the change ticket records the approval."
    reference   = "https://jira.acme.example/browse/CHG-1234"   # optional
    author      = "dana.compliance"
    recorded_at = 2024-07-03                # a TOML date, or a date-time with an offset
    # environment = "production"            # optional: only this environment of the run

A response never changes a verdict or a count; it is shown beside the exception in the
report and stored in findings.json (`deployments[].responses`), both covered by SHA256SUMS.

Strict, so that nothing the lead wrote silently goes missing from a signed report: an
unknown key, a missing or mistyped field, an unknown control or category, a run that is
not a production deployment, an answer to a control that has no exception, or two answers
to one exception is a `UsageError` (exit 2). The one exception is a run the store knows was
created in another quarter: the file may carry a whole year, so those entries are skipped
and counted.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError

from audit.config import _repository, explain
from audit.controls import CONTROLS
from audit.errors import UsageError
from audit.period import Period
from audit.quarter import Quarter
from audit.times import parse as parse_time

DEFAULT_PATH = Path("responses.toml")
"""Read when neither `--responses` nor `AUDIT_RESPONSES` is given, if it exists."""

CATEGORIES = ("emergency-change", "compensating-control", "accepted-risk", "false-positive", "remediated")
"""What kind of justification a response is."""

ALL_EXCEPTIONS = "*"
"""`control` value answering every exception of the deployment at once."""

EXCEPTION_VERDICTS = ("fail", "not_available", "error")
"""Verdicts a response can answer; a pass or not_applicable needs no justification."""


@dataclass(frozen=True)
class Response:
    """One `[[response]]` entry, validated."""

    index: int
    """1-based position in the file, for error messages."""
    repository: str
    """"owner/name" of the deployment's repository."""
    run_id: int
    """The deployment's workflow run id."""
    control: str
    """A control id, or `ALL_EXCEPTIONS`."""
    category: str
    """One of `CATEGORIES`."""
    response: str
    """The justification, in the lead's words."""
    author: str
    """Who recorded it."""
    recorded_at: str
    """ISO 8601 date ("2024-07-03") or date-time with offset."""
    reference: str | None = None
    """Ticket or document link; None when not given."""
    environment: str | None = None
    """Only this environment of the run; None: every production environment of the run."""

    def label(self) -> str:
        return f"response {self.index} ({self.repository} run {self.run_id})"

    def as_finding(self) -> dict:
        """What findings.json and the report show for the answered control."""
        return {
            "response": self.response,
            "category": self.category,
            "author": self.author,
            "recorded_at": self.recorded_at,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class ResponsesFile:
    """A parsed responses file and where it came from."""

    path: Path
    """The file read."""
    sha256: str
    """SHA-256 of its bytes, recorded in findings.json to tie the report to a reviewed version."""
    entries: tuple[Response, ...]
    """Every entry, in file order."""


@dataclass(frozen=True)
class Applied:
    """The responses matched to one quarter's deployments."""

    by_deployment: dict = field(default_factory=dict)
    """(repository, run_id, environment) → {control id: `Response.as_finding()`}."""
    applied: int = 0
    """Exceptions answered."""
    other_quarters: tuple[Response, ...] = ()
    """Entries for runs the store places in another quarter, skipped."""
    source: dict = field(default_factory=dict)
    """findings.json `responses_file`: file name, sha256, entries, answered, other_quarters."""


def responses_path(option: Path | None) -> Path | None:
    """The responses file to read: the option, else `AUDIT_RESPONSES`, else ./responses.toml if present."""
    explicit = option or (Path(os.environ["AUDIT_RESPONSES"]) if os.environ.get("AUDIT_RESPONSES") else None)
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"responses file {explicit} does not exist")
        return explicit
    return DEFAULT_PATH if DEFAULT_PATH.is_file() else None


def load_responses(path: Path) -> ResponsesFile:
    """Parse and validate the file's shape (no store needed); one `UsageError` per problem."""
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - {"response"})
    if unknown:
        raise UsageError(f"{path}: unknown top-level key {unknown[0]!r}: write each answer as a [[response]] table")
    tables = data.get("response", [])
    if not isinstance(tables, list):
        raise UsageError(f"{path}: 'response' must be an array of tables: write [[response]], not [response]")
    entries = tuple(_entry(path, index, table) for index, table in enumerate(tables, 1))
    return ResponsesFile(path, hashlib.sha256(raw).hexdigest(), entries)


def _entry(path: Path, index: int, table: dict[str, Any]) -> Response:
    try:
        entry = _Entry.model_validate(table)
    except ValidationError as error:
        raise UsageError(
            f"{path}: response {index}: {explain(error, known=list(_Entry.model_fields), wanted=_WANTED)}"
        ) from None
    return Response(index=index, **entry.model_dump())


def _known_control(control: str) -> str:
    control_ids = [control.id for control in CONTROLS]
    if control not in (*control_ids, ALL_EXCEPTIONS):
        raise ValueError(f"unknown control {control!r} (one of {', '.join(control_ids)}, or {ALL_EXCEPTIONS!r})")
    return control


def _known_category(category: str) -> str:
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    return category


def _recorded_at(value: date | str) -> str:
    """A TOML date or offset date-time (or the same as an ISO string), as ISO 8601 text."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("recorded_at must be a date (2024-07-03) or a date-time with an offset") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"recorded_at {value.isoformat()} needs a UTC offset (Z, +02:00), or give a date")
    return value.isoformat()


_WANTED = {"run_id": "a positive whole number (the number in the run's URL)"}

_Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]


class _Entry(BaseModel):
    """The shape of one `[[response]]` table; the types are the checks."""

    model_config = ConfigDict(extra="forbid")

    repository: Annotated[_Text, AfterValidator(_repository)]
    run_id: Annotated[int, Strict(), Field(gt=0)]
    control: Annotated[_Text, AfterValidator(_known_control)]
    category: Annotated[_Text, AfterValidator(_known_category)]
    response: _Text
    author: _Text
    recorded_at: Annotated[
        Annotated[datetime, Strict()] | Annotated[date, Strict()] | Annotated[str, Strict()],
        AfterValidator(_recorded_at),
    ]
    reference: _Text | None = None
    environment: _Text | None = None


def apply_responses(responses: ResponsesFile, db, quarter: Period | Quarter, timezone: str = "UTC") -> Applied:
    """Match each entry to the quarter's stored verdicts; anything that does not fit is a `UsageError`.

    `timezone` is the one the quarter is taken in (config `timezone`), to tell a run of
    another quarter (skipped) from a run of this one that is not a production deployment.
    """
    start, end = quarter.bounds(timezone)
    verdicts: dict = {}
    for row in db.query(
        "select repository, run_id, environment, control_id, verdict from verdicts where quarter = ?", [str(quarter)]
    ):
        verdicts.setdefault((row["repository"], row["run_id"]), {}).setdefault(row["environment"], {})[
            row["control_id"]
        ] = row["verdict"]
    by_deployment: dict = {}
    answered_by: dict = {}
    other_quarters = []
    for entry in responses.entries:
        where = f"{responses.path}: {entry.label()}"
        environments = verdicts.get((entry.repository, entry.run_id))
        if environments is None:
            created_at = _run_created_at(db, entry)
            if created_at is not None and not start <= created_at < end:
                other_quarters.append(entry)
                continue
            raise UsageError(f"{where}: no production deployment of that run in the evidence store (check run_id)")
        if entry.environment is not None:
            if entry.environment not in environments:
                raise UsageError(
                    f"{where}: the run deployed to {', '.join(sorted(environments))}, not {entry.environment!r}"
                )
            environments = {entry.environment: environments[entry.environment]}
        for environment, results in sorted(environments.items()):
            key = (entry.repository, entry.run_id, environment)
            exceptions = [cid for cid, verdict in results.items() if verdict in EXCEPTION_VERDICTS]
            if entry.control == ALL_EXCEPTIONS:
                if not exceptions:
                    raise UsageError(f"{where}: the {environment} deployment has no exception to answer")
                targets = exceptions
            elif entry.control in exceptions:
                targets = [entry.control]
            else:
                raise UsageError(
                    f"{where}: {entry.control} is {results.get(entry.control, 'not evaluated')} for the "
                    f"{environment} deployment; a response answers fail, not_available or error"
                )
            for control_id in targets:
                earlier = answered_by.setdefault((key, control_id), entry.index)
                if earlier != entry.index:
                    raise UsageError(f"{where}: {control_id} is already answered by response {earlier}")
                by_deployment.setdefault(key, {})[control_id] = entry.as_finding()
    order = [control.id for control in CONTROLS]
    by_deployment = {key: {cid: value[cid] for cid in order if cid in value} for key, value in by_deployment.items()}
    source = {
        "path": responses.path.name,
        "sha256": responses.sha256,
        "entries": len(responses.entries),
        "answered": len(answered_by),
        "other_quarters": len(other_quarters),
    }
    return Applied(by_deployment, len(answered_by), tuple(other_quarters), source)


def _run_created_at(db, entry: Response) -> datetime | None:
    """When a stored run was created, or None when the store does not know the run."""
    row = db.execute(
        "select created_at from workflow_runs where repository = ? and run_id = ?", [entry.repository, entry.run_id]
    ).fetchone()
    if row is None or not row[0]:
        return None
    return parse_time(row[0])
