"""The settings in `audit.toml` (path from `AUDIT_CONFIG`), validated strictly.

Every key is optional; an unknown key or a value of the wrong type is a `UsageError`, so a
typo never silently falls back to a default that changes what the auditor is shown. The
types and bounds on `Settings` are the checks (pydantic validates against them); this
module only words pydantic's first error as one line.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from audit import times
from audit.errors import UsageError
from audit.scans.severity import SEVERITIES, parse_threshold

_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def validate_repository(name: str) -> str:
    """Check "owner/name" form; a malformed name is a `UsageError`."""
    if not _REPOSITORY.match(name):
        raise UsageError(f"invalid repository {name!r}: expected owner/name, e.g. acme/payments-api")
    return name


def _repository(name: str) -> str:
    """`validate_repository` for pydantic, which reports a ValueError with its key."""
    try:
        return validate_repository(name)
    except UsageError as error:
        raise ValueError(str(error)) from None


def _threshold(value: str) -> str:
    try:
        return parse_threshold(value)
    except ValueError:
        raise ValueError(f"max_severity must be one of {', '.join(SEVERITIES)}") from None


def _time_zone(name: str) -> str:
    if times.zone(name) is None:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    return name


def _no_blank(key: str) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """A check that no entry of the list `key` is blank (a blank pattern or label matches nothing useful)."""

    def check(items: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in items):
            raise ValueError(f"{key} must not contain an empty string")
        return items

    return check


Text = Annotated[str, Strict(), Field(min_length=1)]
Names = tuple[Annotated[str, Strict()], ...]


@dataclass(frozen=True)
class Settings:
    """What the controls are measured against; shown in the report's methodology section."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    repositories: tuple[Annotated[str, Strict(), AfterValidator(_repository)], ...] = ()
    """Repositories in scope, as "owner/name"."""
    organization: Text | None = None
    """Every repository of this organisation that has a production environment."""
    production_environments: Annotated[Names, Field(min_length=1)] = ("production",)
    """Environment names or fnmatch patterns that count as production."""
    required_approvers: Annotated[int, Strict(), Field(ge=1)] = 2
    """Distinct people who must approve a change (PR approvals plus deployment approvals)."""
    approval_window_minutes: Annotated[int, Strict(), Field(ge=0)] = 120
    """Longest acceptable time from approval request to approval."""
    test_jobs: Names = ("test", "test (*)")
    """Job-name patterns (fnmatch, case-insensitive) that must succeed before deploying."""
    scan_jobs: Names = ("security-scan", "security-scan (*)")
    """Job-name patterns whose conclusion stands in when no scan artifact exists."""
    max_severity: Annotated[str, Strict(), AfterValidator(_threshold)] = "high"
    """A scan finding at or above this severity fails `scan.clean`."""
    allowed_branches: Names = ()
    """Branches production may be deployed from; empty means the default branch."""
    timezone: Annotated[Text, AfterValidator(_time_zone)] = "UTC"
    """Time zone of the quarter boundaries."""
    population_pdf_limit: Annotated[int, Strict(), Field(ge=0)] = 0
    """Deployments printed row by row in the PDF (the first n; 0: none, a count per repository
    instead). The attached CSV, xlsx and JSON and report.html carry every one; a PDF page costs
    WeasyPrint about 0.2 s, so a population table would dominate the report's cost."""
    emergency_branches: Annotated[Names, AfterValidator(_no_blank("emergency_branches"))] = ("hotfix/*", "emergency/*")
    """Head-branch patterns (fnmatch, case-sensitive like git) that mark an emergency deployment."""
    emergency_labels: Annotated[Names, AfterValidator(_no_blank("emergency_labels"))] = ()
    """Pull-request labels (case-insensitive) that mark the deployed commit's change an emergency."""
    emergency_review_days: Annotated[int, Strict(), Field(ge=0)] = 3
    """An emergency change must be approved in a pull request within this many days of deploying."""

    def as_dict(self) -> dict:
        """Plain values, for the report's methodology section and findings.json."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read `audit.toml` (or `AUDIT_CONFIG`); a missing default file means all defaults."""
    explicit = path is not None or "AUDIT_CONFIG" in os.environ
    config_path = Path(path or os.environ.get("AUDIT_CONFIG") or "audit.toml")
    if not config_path.exists():
        if explicit:
            raise UsageError(f"configuration file {config_path} does not exist")
        return Settings()
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{config_path}: not valid TOML ({error})") from None
    return settings_from_mapping(data, source=str(config_path))


def settings_from_mapping(data: dict[str, Any], source: str = "configuration") -> Settings:
    """Validate a parsed TOML table into `Settings`; the first problem is one `UsageError`."""
    try:
        return _SETTINGS.validate_python(data)
    except ValidationError as error:
        raise UsageError(f"{source}: {explain(error, known=sorted(f.name for f in fields(Settings)))}") from None


_SETTINGS = TypeAdapter(Settings)


def explain(error: ValidationError, *, known: list[str], wanted: dict[str, str] | None = None) -> str:
    """pydantic's first error as one sentence naming the key, worded for a person editing TOML.

    Missing keys are named all at once, so one edit fixes them; `wanted` words what a key
    must be where the type alone says it badly.
    """
    errors = error.errors()
    missing = [str(e["loc"][0]) for e in errors if e["type"] in ("missing", "missing_argument")]
    first = errors[0]
    kind, location, context = first["type"], first["loc"], first.get("ctx", {})
    key = str(location[0]) if location else "value"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown key {key!r} (known keys: {', '.join(known)})"
    if missing:
        return f"missing {', '.join(missing)}"
    if kind == "value_error":
        return str(context["error"])
    if wanted and key in wanted:
        return f"{key} must be {wanted[key]}"
    if kind == "literal_error":
        return f"{key} must be one of {context['expected']}"
    if kind == "greater_than_equal":
        return f"{key} must be a whole number >= {context['ge']}"
    if kind == "greater_than":
        return f"{key} must be a whole number > {context['gt']}"
    if kind == "too_short":
        return f"{key} must name at least one entry"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{key} must be a whole number"
    if len(location) > 1 or kind in ("tuple_type", "list_type"):
        return f"{key} must be a list of strings"
    if kind in ("string_type", "string_too_short"):
        return f"{key} must be a non-empty string"
    return f"{key}: {first['msg']}"


@dataclass(frozen=True)
class Environment:
    """What the process environment tells us; the token never leaves this object."""

    token: str | None = field(default=None, repr=False)
    api_url: str = "https://api.github.com"
    repositories: tuple[str, ...] = ()
    app_id: str | None = None
    """A GitHub App (AUDIT_APP_ID, with its PEM key in AUDIT_APP_PRIVATE_KEY) instead of a token."""
    app_private_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_os(cls) -> Environment:
        repos = tuple(r.strip() for r in os.environ.get("AUDIT_REPOS", "").replace(",", " ").split() if r.strip())
        return cls(
            token=os.environ.get("GITHUB_TOKEN") or None,
            api_url=(os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            repositories=tuple(validate_repository(r) for r in repos),
            app_id=os.environ.get("AUDIT_APP_ID") or None,
            app_private_key=os.environ.get("AUDIT_APP_PRIVATE_KEY") or None,
        )
