"""The SOC 2 framework file (`soc2.toml`): which controls cover which criterion.

Controls know nothing about SOC 2 beyond the criteria ids in their own text; this file
maps each criterion to the controls that cover it, as Prowler's compliance files do.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Criterion:
    """A SOC 2 Trust Services Criterion and the controls that cover it."""

    id: str
    """e.g. "CC8.1"."""
    title: str
    description: str
    """The criterion's text (AICPA TSC 2017, revised points of focus 2022)."""
    controls: tuple[str, ...]
    """Control ids, in contract order."""


@dataclass(frozen=True)
class Framework:
    """A compliance framework: its name, version and criteria."""

    name: str
    version: str
    description: str
    criteria: tuple[Criterion, ...]


def _load() -> Framework:
    data = tomllib.loads(resources.files(__package__).joinpath("soc2.toml").read_text(encoding="utf-8"))
    return Framework(
        name=data["name"],
        version=data["version"],
        description=" ".join(data["description"].split()),
        criteria=tuple(
            Criterion(
                id=item["id"],
                title=item["title"],
                description=" ".join(item["description"].split()),
                controls=tuple(item["controls"]),
            )
            for item in data["criteria"]
        ),
    )


FRAMEWORK: Framework = _load()
"""The SOC 2 framework as loaded from `soc2.toml`."""


def criteria() -> list[dict]:
    """The framework's criteria in the file's order, as plain JSON-ready dicts.

    `{"id", "title", "description", "controls": [control ids]}` — the shape findings.json
    and the report's criteria table use. `FRAMEWORK.criteria` holds the typed records.
    """
    return [
        {
            "id": criterion.id,
            "title": criterion.title,
            "description": criterion.description,
            "controls": list(criterion.controls),
        }
        for criterion in FRAMEWORK.criteria
    ]
