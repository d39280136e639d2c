"""The SOC 2 framework (`soc2.toml`): the criteria, and which controls cover each.

`soc2.toml` holds each criterion's id and text. Which controls cover it is stated once, in
each control's own `criteria`; `load_framework` derives the per-criterion lists from those.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any


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


def load_framework(controls: Sequence[tuple[str, Sequence[str]]]) -> Framework:
    """soc2.toml's criteria, each with the controls (id, criteria ids; contract order) that name it.

    A control naming a criterion soc2.toml does not describe is a ValueError: a typo in a
    control's `criteria` never silently drops it from the report's criteria table.
    """
    data = tomllib.loads(resources.files(__package__).joinpath("soc2.toml").read_text(encoding="utf-8"))
    described = {item["id"] for item in data["criteria"]}
    for control_id, criterion_ids in controls:
        unknown = sorted(set(criterion_ids) - described)
        if unknown:
            raise ValueError(f"control {control_id} names criteria {unknown} that soc2.toml does not describe")
    return Framework(
        name=data["name"],
        version=data["version"],
        description=" ".join(data["description"].split()),
        criteria=tuple(
            Criterion(
                id=item["id"],
                title=item["title"],
                description=" ".join(item["description"].split()),
                controls=tuple(control_id for control_id, criterion_ids in controls if item["id"] in criterion_ids),
            )
            for item in data["criteria"]
        ),
    )


def json_ready(framework: Framework) -> list[dict[str, Any]]:
    """The framework's criteria in the file's order, as plain JSON-ready dicts.

    `{"id", "title", "description", "controls": [control ids]}` — the shape findings.json
    and the report's criteria table use. `Framework.criteria` holds the typed records.
    """
    return [
        {
            "id": criterion.id,
            "title": criterion.title,
            "description": criterion.description,
            "controls": list(criterion.controls),
        }
        for criterion in framework.criteria
    ]
