"""findings.json as typed models: the one definition its JSON Schema is generated from.

`build_findings` checks what it built against `Findings` before anything is rendered, so
the report, the CSV and findings.json can only carry a document the schema accepts, and a
new key is a new field here (with its docstring, which becomes the schema's description).

    findings_schema()                 # the JSON Schema (draft 2020-12); `python -m audit.documents` prints it
    Findings.model_validate(findings) # raises pydantic.ValidationError on a broken document

Keys the design fixes are required; the others may be absent in an older findings.json.
No undeclared key is accepted at the top level, in a deployment, or in a verdict.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.json_schema import GenerateJsonSchema

from audit.controls import CONTROLS
from audit.evidence import VERDICTS

CONTROL_IDS: tuple[str, ...] = tuple(control.id for control in CONTROLS)

RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
REPOSITORY = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"

DateTime = Annotated[str, Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})]
"""RFC 3339 date-time with an offset, kept as the text written."""
Repository = Annotated[str, Field(pattern=REPOSITORY)]
"""GitHub "owner/name"."""
RunId = Annotated[int, Field(ge=1, strict=True)]
Login = Annotated[str, Field(min_length=1)]
Text = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0, strict=True)]
Criterion = Annotated[str, Field(pattern=r"^CC\d+\.\d+$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ControlId = Annotated[str, Field(json_schema_extra={"enum": list(CONTROL_IDS)})]
"""A control id of the contract, in contract order."""
Verdict = Literal["pass", "fail", "not_applicable", "not_available", "error"]
Outcome = Literal["success", "failure", "cancelled", "skipped", "timed_out", "neutral", "action_required", "rejected"]

assert VERDICTS == get_args(Verdict), "audit.evidence.VERDICTS and the findings model disagree"


class _Strict(BaseModel):
    """No undeclared key; docstrings of fields become the schema's descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, strict=True)


class _Open(BaseModel):
    """A part of the document whose keys may grow without a schema change (logs, counts)."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True, strict=True)


class Period(_Strict):
    """The period's [start, end) in UTC, its days taken in `timezone`."""

    start: DateTime
    end: DateTime
    timezone: Text | None = None
    """IANA time zone of the period boundaries."""


class Generator(_Open):
    """The program (and libraries) that produced the document."""

    name: Literal["soc2-audit"]
    version: Text
    libraries: dict[str, str | None] = {}
    """Versions of the libraries that shape the output (PyGithub, WeasyPrint, pyHanko), to reproduce a re-render."""


class Result(_Strict):
    """One control's verdict on one deployment."""

    verdict: Verdict
    detail: Text
    """One sentence naming the run."""


class Response(_Strict):
    """A management response to one exception (audit/responses.py); never changes the verdict."""

    response: Text
    category: (
        Literal["emergency-change", "compensating-control", "accepted-risk", "false-positive", "remediated"] | None
    ) = None
    author: Text
    recorded_at: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})] | DateTime
    """A date, or a date-time with an offset."""
    reference: Text | None = None
    """Ticket or document link."""


def _every_control_once(schema: dict[str, Any]) -> None:
    schema["required"] = list(CONTROL_IDS)


ControlResults = Annotated[dict[ControlId, Result], Field(json_schema_extra=_every_control_once)]
"""Every control's verdict, by control id."""


class Deployment(_Strict):
    """One member of the population: one (repository, run_id, environment)."""

    repository: Repository
    run_id: RunId
    run_attempt: Annotated[int, Field(ge=1)] | None
    """Null when the stored run does not say (GitHub leaves it out of older runs)."""
    environment: Text
    head_sha: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")] | None
    """The deployed commit; null when the stored run does not name it."""
    head_branch: Text | None
    actor: Login | None
    triggering_actor: Login | None
    created_at: DateTime
    outcome: Outcome | None
    """The production deploy job's conclusion, `rejected` when the approval was rejected and the job never ran,
    null when unknown."""
    html_url: Annotated[str, Field(pattern=r"^https?://", json_schema_extra={"format": "uri"})] | None
    """The run's page on GitHub; null when the stored run lacks it."""
    pr_number: Annotated[int, Field(ge=1)] | None = None
    pr_author: Login | None = None
    pr_title: str | None = None
    pr_approvers: Annotated[list[Login], Field(json_schema_extra={"uniqueItems": True})] = []
    deploy_approvers: Annotated[list[Login], Field(json_schema_extra={"uniqueItems": True})] = []
    approval_requested_at: DateTime | None = None
    approved_at: DateTime | None = None
    controls: ControlResults
    """Every control's verdict."""
    responses: dict[ControlId, Response] = {}
    """Management responses by control id."""
    oidc_token: bool | None = None
    """Whether the production deploy job could request an OIDC token (`permissions: id-token: write` in the
    workflow file at the deployed commit); false: long-lived secrets only; null: the workflow file was not
    captured or the job not found in it."""

    @model_validator(mode="after")
    def _known_controls(self) -> Deployment:
        missing = [c for c in CONTROL_IDS if c not in self.controls]
        unknown = sorted(set(self.controls) - set(CONTROL_IDS)) + sorted(set(self.responses) - set(CONTROL_IDS))
        if missing or unknown:
            raise ValueError(f"controls must be exactly the contract's: missing {missing}, unknown {unknown}")
        return self


class Window(_Open):
    """One run-listing query window; complete when `fetched` equals GitHub's `total_count`."""

    repository: Repository
    created: str
    total_count: Count
    fetched: Count


class Mismatch(_Open):
    """A deployment or run the two sources (deployments API, runs) do not reconcile."""

    repository: Repository
    run_id: RunId | None
    reason: Text


class EvidenceLost(_Open):
    """A deployment whose evidence GitHub expired before it was captured."""

    repository: Repository
    run_id: RunId
    what: Text


class DegradedLookup(_Open):
    """Lookups GitHub refused during the quarter's extractions: outcome `rest` (GraphQL refused, REST answered) or
    `unavailable` (REST refused too, or answered what the endpoint does not document), with the permission the token
    lacks (none for an unreadable answer) and how many are still missing."""

    piece: Literal["jobs", "approvals", "pull_requests", "reviews", "statuses"]
    outcome: Literal["rest", "unavailable"]
    reason: str | None
    permission: str | None
    lookups: Annotated[int, Field(ge=1, strict=True)]
    still_missing: Count


SettingsSource = Literal["audit_log", "captures"]


class SettingsGap(_Open):
    """A stretch of the period in which a protected object's settings were not observed."""

    model_config = ConfigDict(populate_by_name=True)

    repository: Repository
    object: str
    from_: Annotated[DateTime, Field(alias="from")]
    to: DateTime


class SettingsObserved(_Open):
    """Settings continuously observed across the period (audit log, or captures at most 7 days apart), with the
    gaps."""

    continuously: bool
    source: SettingsSource
    gaps: list[SettingsGap]


class Completeness(_Open):
    """Whether the population is complete: listing windows under GitHub's cap, deployments reconciled with runs."""

    complete: bool
    windows: list[Window]
    deployments_api: Count | None = None
    runs_with_production_job: Count | None = None
    deploy_workflow_runs: Count | None = None
    population: Count | None = None
    mismatches: list[Mismatch]
    evidence_lost: list[EvidenceLost]
    degraded_lookups: list[DegradedLookup] = []
    """Lookups GitHub refused during the quarter's extractions."""
    settings_observed: SettingsObserved | None = None


class ExtractionQuery(_Open):
    """One query kind of one extraction, condensed (calls, rows, requests)."""

    repository: str
    query: Text
    calls: Count | None = None
    rows: Count | None = None
    requests: Count | None = None
    not_modified: Count | None = None
    started_at: DateTime
    rate_remaining: int | None = None
    extraction_id: int | None = None


class Counts(_Strict):
    """Deployments per verdict."""

    pass_: Annotated[Count, Field(alias="pass")]
    fail: Count
    not_applicable: Count
    not_available: Count
    error: Count


class Control(_Strict):
    """A control's text and its verdict counts over the population."""

    id: ControlId
    title: Text
    question: Text | None = None
    rationale: Text | None = None
    remediation: Text | None = None
    criteria: Annotated[list[Criterion], Field(min_length=1)]
    counts: Counts


def _each_control_once(schema: dict[str, Any]) -> None:
    schema["allOf"] = [{"contains": {"properties": {"id": {"const": control_id}}}} for control_id in CONTROL_IDS]


ControlMatrix = Annotated[
    list[Control],
    Field(min_length=len(CONTROL_IDS), max_length=len(CONTROL_IDS), json_schema_extra=_each_control_once),
]
"""Every control, each exactly once, with verdict counts over the population."""


class CriterionEntry(_Open):
    """A SOC 2 criterion and the controls mapped to it."""

    id: Criterion
    title: str | None = None
    description: str | None = None
    controls: list[ControlId]


class SampleItem(_Strict):
    """A drawn deployment and its sample key."""

    repository: Repository
    run_id: RunId
    environment: Text
    sample_key: Sha256 | None = None
    evidence: dict[str, Any] | None = None
    """The sampled deployment's complete evidence (audit.sample): run, jobs, approvals, statuses, pull request and
    reviews, artifacts with findings, and every control's verdict with the evidence ids it rests on; the report's
    test sheet is printed from it."""


class Sample(_Strict):
    """The auditor sample (audit/sample.py): the `size` deployments with the smallest
    sha256('<seed>:<repository>:<run_id>:<environment>'), smallest first."""

    seed: Text
    size: Count
    requested_size: Annotated[int, Field(ge=1)] | None = None
    population: Count | None = None
    algorithm: Text
    items: list[SampleItem]


class ResponsesFile(_Strict):
    """The management responses file the report was rendered with."""

    path: Text
    sha256: Sha256
    entries: Count
    answered: Count
    other_quarters: Count | None = None


class SettingsInForce(_Open):
    """The audit.toml settings the controls were measured against (config.Settings)."""

    production_environments: list[str] | None = None
    required_approvers: Annotated[int, Field(ge=1)] | None = None
    approval_window_minutes: Count | None = None
    test_jobs: list[str] | None = None
    scan_jobs: list[str] | None = None
    max_severity: Literal["low", "medium", "high", "critical"] | None = None
    allowed_branches: list[str] | None = None
    timezone: str | None = None
    emergency_branches: list[str] | None = None
    emergency_labels: list[str] | None = None
    emergency_review_days: Count | None = None


class EmergencyDeployment(_Strict):
    """One emergency deployment of the period and whether its change was reviewed in time."""

    repository: Repository
    run_id: RunId
    run_attempt: int | None = None
    environment: str
    html_url: str | None = None
    head_branch: str | None = None
    reason: str
    """Why it is an emergency: the branch, or the label and its PR."""
    deployed_at: DateTime | None
    review_deadline: DateTime | None
    pr_number: int | None
    approved_at: DateTime | None
    approvers: list[str]
    verdict: Verdict
    status: Literal["reviewed in time", "reviewed late", "never reviewed", "unknown"]


class Emergency(_Strict):
    """Emergency changes (control change.emergency_reviewed): the policy and every emergency deployment of the
    period."""

    branches: list[str]
    labels: list[str]
    review_days: Count
    deployments: list[EmergencyDeployment]


class AuditLogRead(_Open):
    """Whether the organisation's audit log could be read, and since when it covers."""

    readable: bool | None = None
    since: DateTime | None = None
    detail: str | None = None


class Observation(_Open):
    """One observation of a protected object's settings."""

    at: DateTime
    source: Literal["capture", "audit_log"]
    actor: str | None = None
    state: dict[str, Any]
    """The settings observed; a null value is unknown."""
    weaknesses: list[str]


class SettingsChange(_Open):
    """A change of a protected object's settings, dated exactly (`at`) or between two captures."""

    at: DateTime | None = None
    between: Annotated[list[DateTime], Field(min_length=2, max_length=2)] | None = None
    actor: str | None = None
    what: list[str]


class WindowDeployment(_Open):
    """A deployment made while the settings were weaker than the controls assume."""

    run_id: RunId
    created_at: DateTime
    environment: str | None = None


class WeakWindow(_Open):
    """A window in which the settings were weaker than the controls assume."""

    weaknesses: list[str]
    start: DateTime | None
    end: DateTime | None
    earliest_start: DateTime | None
    latest_end: DateTime | None
    exact: bool
    """True when the audit log dates the window; false: bounded by capture dates."""
    actor: str | None = None
    deployments: list[WindowDeployment]


class ProtectedObject(_Open):
    """A production environment or the default branch, with what was observed of its settings."""

    kind: Literal["environment", "branch"]
    name: str
    observations: list[Observation]
    changes: list[SettingsChange]
    windows: list[WeakWindow]


class RepositorySettings(_Open):
    """The protected objects of one repository."""

    repository: Repository
    objects: list[ProtectedObject]


class ProtectionInForce(_Open):
    """Evidence beside the verdicts: the protection settings the controls rely on, as observed across the period,
    their changes, and the windows where they were weaker than the controls assume."""

    source: SettingsSource
    audit_log: AuditLogRead
    continuously_observed: bool
    gaps: list[SettingsGap]
    repositories: list[RepositorySettings]


class Credentials(_Strict):
    """Deployments whose deploy job could request an OIDC token, could only use secrets, or is unknown."""

    oidc: Count
    secrets_only: Count
    unknown: Count


class DelayBucket(_Strict):
    """How many deployments were first sealed within one delay range."""

    label: str
    count: Count


class SealedLate(_Strict):
    """A deployment whose evidence was first sealed at or after the period's end."""

    repository: str
    run_id: int
    created_at: str
    first_sealed_at: str


class SealTimeline(_Strict):
    """When each deployment's evidence was first sealed (audit/seal.py): delay from the run's created_at to the
    first seal covering its workflow_runs row. Evidence first sealed after the period ended is weaker: it could
    have been rebuilt before sealing."""

    sealed: Count
    """Deployments whose run row is covered by a seal."""
    unsealed: Count
    """Deployments never sealed: when their evidence was captured is unknown."""
    median_delay_days: float | int | None
    max_delay_days: float | int | None
    delay_buckets: list[DelayBucket]
    sealed_after_period: Count
    """Deployments first sealed at or after the period's end."""
    after_period: list[SealedLate]
    """The first of them (at most 50), oldest deployment first."""


class Findings(_Strict):
    """The machine-readable findings of one quarter: the population, a verdict per control per deployment,
    and how complete the evidence is."""

    quarter: Annotated[str, Field(pattern=r"^(\d{4}(Q[1-4]|H[12])?|\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2})$")]
    """The audit period's label: YYYYQn, YYYYH1|H2, YYYY, or YYYY-MM-DD..YYYY-MM-DD (inclusive days)."""
    period: Period
    generated_at: DateTime
    """When the verdicts were evaluated (the evidence's capture time, not the rendering time)."""
    generator: Generator | None = None
    demo: bool
    """True when the evidence is the built-in demo organisation, not real."""
    organization: Text | None = None
    """The GitHub organisation in scope."""
    repositories: Annotated[list[Repository], Field(json_schema_extra={"uniqueItems": True})]
    """Repositories extracted for the quarter."""
    settings: SettingsInForce | None = None
    completeness: Completeness
    extraction_log: list[ExtractionQuery] = []
    """Each query of the extractions that captured the quarter, per query kind."""
    controls: ControlMatrix
    criteria: list[CriterionEntry] = []
    """SOC 2 criteria and the controls mapped to them."""
    emergency: Emergency | None = None
    settings_in_force: ProtectionInForce | None = None
    credentials: Credentials | None = None
    deployments: list[Deployment]
    """The population: one entry per (repository, run_id, environment)."""
    sample: Sample | None = None
    responses_file: ResponsesFile | None = None
    seal_timeline: SealTimeline | None = None

    @model_validator(mode="after")
    def _controls_each_once(self) -> Findings:
        if sorted(control.id for control in self.controls) != sorted(CONTROL_IDS):
            raise ValueError(f"controls must list each of {', '.join(CONTROL_IDS)} exactly once")
        return self


class _Draft202012(GenerateJsonSchema):
    """Pydantic's generator, with the schema's dialect and id stated."""

    def generate(self, schema, mode="validation"):
        generated = super().generate(schema, mode=mode)
        return {"$schema": self.schema_dialect, "$id": "urn:soc2-audit:schema:findings", **generated}


def findings_schema() -> dict[str, Any]:
    """The JSON Schema of findings.json, generated from `Findings`."""
    return Findings.model_json_schema(by_alias=True, schema_generator=_Draft202012)


DEPLOYMENTS_AT_ONCE = 1_000
"""Deployments `check_findings` turns into models at a time."""

_DEPLOYMENTS = TypeAdapter(list[Deployment])


def check_findings(findings: dict[str, Any]) -> None:
    """Raise `pydantic.ValidationError` when `findings` does not match the model (a bug, never bad input).

    The deployments are checked `DEPLOYMENTS_AT_ONCE` at a time: the models of a whole
    50,000-deployment document took as much memory as the document itself. On a failure the
    document is checked whole again, so the error names its place in it.
    """
    deployments = findings.get("deployments")
    if not isinstance(deployments, list):
        Findings.model_validate(findings)
        return
    try:
        Findings.model_validate({**findings, "deployments": []})
        for start in range(0, len(deployments), DEPLOYMENTS_AT_ONCE):
            _DEPLOYMENTS.validate_python(deployments[start : start + DEPLOYMENTS_AT_ONCE])
    except ValidationError:
        Findings.model_validate(findings)
        raise


if __name__ == "__main__":
    import json

    print(json.dumps(findings_schema(), indent=2))
