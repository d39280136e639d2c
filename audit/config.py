"""The settings in `audit.toml` (path from `AUDIT_CONFIG`), validated strictly.

Every key is optional; an unknown key or a value of the wrong type is a `UsageError`, so a
typo never silently falls back to a default that changes what the auditor is shown.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from dateutil import tz

from audit.errors import UsageError
from audit.scans.severity import SEVERITIES, parse_threshold

_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Settings:
    """What the controls are measured against; shown in the report's methodology section."""

    repositories: tuple[str, ...] = ()
    """Repositories in scope, as "owner/name"."""
    organization: str | None = None
    """Every repository of this organisation that has a production environment."""
    production_environments: tuple[str, ...] = ("production",)
    """Environment names or fnmatch patterns that count as production."""
    required_approvers: int = 2
    """Distinct people who must approve a change (PR approvals plus deployment approvals)."""
    approval_window_minutes: int = 120
    """Longest acceptable time from approval request to approval."""
    test_jobs: tuple[str, ...] = ("test", "test (*)")
    """Job-name patterns (fnmatch, case-insensitive) that must succeed before deploying."""
    scan_jobs: tuple[str, ...] = ("security-scan", "security-scan (*)")
    """Job-name patterns whose conclusion stands in when no scan artifact exists."""
    max_severity: str = "high"
    """A scan finding at or above this severity fails `scan.clean`."""
    allowed_branches: tuple[str, ...] = ()
    """Branches production may be deployed from; empty means the default branch."""
    timezone: str = "UTC"
    """Time zone of the quarter boundaries."""
    population_pdf_limit: int = 500
    """Largest population printed row by row in the PDF; the CSV and HTML carry it all."""
    emergency_branches: tuple[str, ...] = ("hotfix/*", "emergency/*")
    """Head-branch patterns (fnmatch, case-sensitive like git) that mark an emergency deployment."""
    emergency_labels: tuple[str, ...] = ()
    """Pull-request labels (case-insensitive) that mark the deployed commit's change an emergency."""
    emergency_review_days: int = 3
    """An emergency change must be approved in a pull request within this many days of deploying."""

    def as_dict(self) -> dict:
        """Plain values, for the report's methodology section and findings.json."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


_LIST_KEYS = {
    "repositories",
    "production_environments",
    "test_jobs",
    "scan_jobs",
    "allowed_branches",
    "emergency_branches",
    "emergency_labels",
}
_INT_KEYS = {
    "required_approvers": 1,
    "approval_window_minutes": 0,
    "population_pdf_limit": 0,
    "emergency_review_days": 0,
}
_STR_KEYS = {"organization", "max_severity", "timezone"}


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


def settings_from_mapping(data: dict, source: str = "configuration") -> Settings:
    """Validate a parsed TOML table into `Settings`, one clear error per problem."""
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"{source}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(known))})")
    values: dict = {}
    for key, value in data.items():
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise UsageError(f"{source}: {key} must be a list of strings")
            values[key] = tuple(value)
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_KEYS[key]:
                raise UsageError(f"{source}: {key} must be a whole number >= {_INT_KEYS[key]}")
            values[key] = value
        elif key in _STR_KEYS:
            if not isinstance(value, str) or not value:
                raise UsageError(f"{source}: {key} must be a non-empty string")
            values[key] = value
    if "max_severity" in values:
        try:
            values["max_severity"] = parse_threshold(values["max_severity"])
        except ValueError:
            raise UsageError(f"{source}: max_severity must be one of {', '.join(SEVERITIES)}") from None
    settings = Settings(**values)
    for repository in settings.repositories:
        validate_repository(repository)
    if tz.gettz(settings.timezone) is None:
        raise UsageError(f"{source}: unknown time zone {settings.timezone!r}: use an IANA name such as Europe/Berlin")
    for key in ("emergency_branches", "emergency_labels"):
        if any(not item.strip() for item in getattr(settings, key)):
            raise UsageError(f"{source}: {key} must not contain an empty string")
    if not settings.production_environments:
        raise UsageError(f"{source}: production_environments must name at least one environment")
    return settings


def validate_repository(name: str) -> str:
    """Check "owner/name" form; a malformed name is a `UsageError`."""
    if not _REPOSITORY.match(name):
        raise UsageError(f"invalid repository {name!r}: expected owner/name, e.g. acme/payments-api")
    return name


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


def matches_any(name: str, patterns) -> bool:
    """True when `name` matches one of the fnmatch `patterns`, ignoring case."""
    return any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns)
