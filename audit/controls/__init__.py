"""The judging stage: ten controls, each a pure function of one deployment's evidence.

Each control is a module here with `evaluate(deployment, settings) -> Verdict` and its
text beside it in `<module>.toml` (id, title, question, rationale, remediation, criteria,
and what each verdict means for it). The registry below is explicit and in contract order
(the README's control table). Controls read `audit.evidence` records only: never the store, never GitHub.

Evidence references in a verdict name stored rows as `<table>:<key>`: `reviews:<id>`,
`pull_requests:<number>`, `commits:<sha>` (the commit's pull-request lookup),
`approvals:run <run id>`, `deployment_statuses:<id>` (`<node id>` for a status captured over
GraphQL, which gives no database id), `jobs:<id>`, `artifacts:<id>`,
`runs:<id>`, `repositories:<owner/name>`.

Which SOC 2 criteria the controls cover is data too: each control's `criteria`, with the
criteria's text in `soc2.toml`; together they are `FRAMEWORK`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType, ModuleType

from audit.config import Settings
from audit.controls import (
    change_emergency_reviewed,
    change_reviewed,
    deploy_approved,
    deploy_dual_control,
    deploy_from_main,
    deploy_independent,
    deploy_timely,
    evidence_retained,
    scan_clean,
    tests_passed,
)
from audit.controls.framework import Criterion, Framework, json_ready, load_framework
from audit.controls.people import deploy_approvers, outcome, pr_approvals, pr_approvers
from audit.evidence import VERDICTS, DeploymentEvidence, Verdict

__all__ = [
    "CONTROLS",
    "FRAMEWORK",
    "Control",
    "Criterion",
    "Framework",
    "control",
    "criteria",
    "deploy_approvers",
    "evaluate_all",
    "outcome",
    "pr_approvals",
    "pr_approvers",
]

Evaluate = Callable[[DeploymentEvidence, Settings], Verdict]


@dataclass(frozen=True)
class Control:
    """A registered control: its text (from its `.toml`) and its `evaluate` function."""

    id: str
    """Contract id, e.g. "change.reviewed"."""
    title: str
    question: str
    """Answerable yes or no; yes is a pass."""
    rationale: str
    """Why an auditor cares."""
    remediation: str
    """What to change when it fails."""
    criteria: tuple[str, ...]
    """SOC 2 criteria ids, e.g. ("CC8.1",); `soc2.toml` maps them back."""
    verdicts: Mapping[str, str]
    """Each verdict this control can give → what it means for this control."""
    evaluate: Evaluate
    """The pure function judging one deployment."""


_MODULES: tuple[tuple[str, ModuleType], ...] = (
    ("change.reviewed", change_reviewed),
    ("deploy.approved", deploy_approved),
    ("deploy.dual_control", deploy_dual_control),
    ("deploy.independent", deploy_independent),
    ("deploy.timely", deploy_timely),
    ("tests.passed", tests_passed),
    ("scan.clean", scan_clean),
    ("deploy.from_main", deploy_from_main),
    ("evidence.retained", evidence_retained),
    ("change.emergency_reviewed", change_emergency_reviewed),
)


def _load(control_id: str, module: ModuleType) -> Control:
    stem = module.__name__.rsplit(".", 1)[-1]
    text = resources.files(__name__).joinpath(f"{stem}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if data.get("id") != control_id:
        raise ValueError(f"{stem}.toml has id {data.get('id')!r}, registered as {control_id!r}")
    return Control(
        id=control_id,
        title=data["title"].strip(),
        question=data["question"].strip(),
        rationale=" ".join(data["rationale"].split()),
        remediation=" ".join(data["remediation"].split()),
        criteria=tuple(data["criteria"]),
        verdicts=MappingProxyType({key: " ".join(value.split()) for key, value in data["verdicts"].items()}),
        evaluate=module.evaluate,
    )


CONTROLS: tuple[Control, ...] = tuple(_load(control_id, module) for control_id, module in _MODULES)
"""Every control, in contract order."""

_BY_ID = {c.id: c for c in CONTROLS}

FRAMEWORK: Framework = load_framework([(c.id, c.criteria) for c in CONTROLS])
"""The SOC 2 criteria and, for each, the controls that name it."""


def criteria() -> list[dict]:
    """The criteria as findings.json lists them (`framework.json_ready`)."""
    return json_ready(FRAMEWORK)


def control(control_id: str) -> Control:
    """The registered control with this id; KeyError naming the known ids otherwise."""
    try:
        return _BY_ID[control_id]
    except KeyError:
        raise KeyError(f"unknown control {control_id!r} (known: {', '.join(_BY_ID)})") from None


def evaluate_all(deployment: DeploymentEvidence, settings: Settings) -> dict[str, Verdict]:
    """Every control's verdict for one deployment, keyed by control id in contract order.

    A control that raises, or answers something other than a `Verdict` with a known
    verdict, gives `error` with a one-sentence detail naming the run — one broken control
    never stops the others or the report.
    """
    verdicts: dict[str, Verdict] = {}
    for each in CONTROLS:
        try:
            verdict = each.evaluate(deployment, settings)
            if not isinstance(verdict, Verdict) or verdict.verdict not in VERDICTS:
                raise TypeError(f"returned {verdict!r} instead of a Verdict")
        except Exception as error:  # noqa: BLE001 — any failure becomes an `error` verdict
            message = " ".join(str(error).split()).rstrip(".") or "no message"
            verdict = Verdict(
                "error",
                f"{each.id} could not judge {_label(deployment)}: {type(error).__name__}: {message}.",
            )
        verdicts[each.id] = verdict
    return verdicts


def _label(deployment: DeploymentEvidence) -> str:
    try:
        return deployment.label
    except Exception:  # noqa: BLE001 — a malformed record still gets an error verdict
        return f"run {getattr(deployment, 'run_id', '?')}"
