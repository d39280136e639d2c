"""The controls' text and the SOC 2 framework file are data: guard them."""

import dataclasses
import json
import tomllib
from importlib import resources

import pytest

import audit.controls
from audit.config import Settings
from audit.controls import CONTROLS, FRAMEWORK, control, criteria, evaluate_all
from audit.controls.framework import load_framework
from audit.evidence import VERDICTS, PullRequest, Review

from .factories import LABEL, make_deployment

CONTRACT_ORDER = (
    "change.reviewed",
    "deploy.approved",
    "deploy.dual_control",
    "deploy.independent",
    "deploy.timely",
    "tests.passed",
    "scan.clean",
    "deploy.from_main",
    "evidence.retained",
    "change.emergency_reviewed",
)
TEXT_FIELDS = ("id", "title", "question", "rationale", "remediation")


def test_ids_are_unique_and_in_contract_order():
    assert tuple(c.id for c in CONTROLS) == CONTRACT_ORDER


@pytest.mark.parametrize("registered", CONTROLS, ids=lambda c: c.id)
def test_every_control_has_its_text(registered):
    for name in TEXT_FIELDS:
        assert getattr(registered, name).strip(), f"{registered.id}: empty {name}"
    assert registered.question.endswith("?")
    assert registered.criteria
    assert callable(registered.evaluate)


@pytest.mark.parametrize("registered", CONTROLS, ids=lambda c: c.id)
def test_verdict_tables_use_known_verdicts(registered):
    assert set(registered.verdicts) <= set(VERDICTS)
    assert {"pass", "fail", "error"} <= set(registered.verdicts)
    assert all(text.strip() for text in registered.verdicts.values())


def test_every_toml_parses():
    tomls = [p for p in resources.files("audit.controls").iterdir() if p.name.endswith(".toml")]
    assert len(tomls) == len(CONTROLS) + 1  # one per control, plus soc2.toml
    for path in tomls:
        tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_criterion_names_real_controls():
    known = {c.id for c in CONTROLS}
    ids = [criterion.id for criterion in FRAMEWORK.criteria]
    assert len(ids) == len(set(ids))
    assert {"CC3.2", "CC6.1", "CC7.1", "CC8.1"} <= set(ids)
    for criterion in FRAMEWORK.criteria:
        assert criterion.title and criterion.description
        assert criterion.controls and set(criterion.controls) <= known, criterion.id


def test_criteria_are_json_ready_for_findings():
    listed = criteria()
    assert json.loads(json.dumps(listed)) == listed
    assert [c["id"] for c in listed] == [c.id for c in FRAMEWORK.criteria]
    assert listed[0].keys() == {"id", "title", "description", "controls"}


def test_controls_and_framework_agree_both_ways():
    mapped = {(criterion.id, cid) for criterion in FRAMEWORK.criteria for cid in criterion.controls}
    declared = {(cid, c.id) for c in CONTROLS for cid in c.criteria}
    assert mapped == declared


def test_criteria_are_stated_once_by_the_controls():
    """soc2.toml describes criteria; only a control's own `criteria` says what it covers."""
    text = tomllib.loads(resources.files("audit.controls").joinpath("soc2.toml").read_text(encoding="utf-8"))
    assert all("controls" not in item for item in text["criteria"])
    with pytest.raises(ValueError, match="CC9.9"):
        load_framework([("deploy.approved", ("CC8.1", "CC9.9"))])


def test_control_by_id():
    assert control("scan.clean").title == "Security scan clean"
    with pytest.raises(KeyError, match="unknown control 'scan.dirty'"):
        control("scan.dirty")


def test_controls_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONTROLS[0].title = "changed"
    with pytest.raises(TypeError):
        CONTROLS[0].verdicts["pass"] = "changed"


def test_evaluate_all_clean_deployment_passes_everything():
    verdicts = evaluate_all(make_deployment(), Settings())
    assert list(verdicts) == list(CONTRACT_ORDER)
    emergency = verdicts.pop("change.emergency_reviewed")
    assert emergency.verdict == "not_applicable"  # a normal deployment
    assert {v.verdict for v in verdicts.values()} == {"pass"}, verdicts


def test_a_broken_record_gives_error_verdicts_not_a_crash():
    broken_review = Review(review_id=1, user="bob", state=None, submitted_at=None, commit_id=None)
    pull_request = PullRequest(42, "alice", None, None, None, None, None, reviews=(broken_review,))
    verdicts = evaluate_all(make_deployment(pull_request=pull_request), Settings())
    errored = {cid for cid, v in verdicts.items() if v.verdict == "error"}
    assert errored == {"change.reviewed", "deploy.dual_control"}
    detail = verdicts["change.reviewed"].detail
    assert detail.startswith(f"change.reviewed could not judge {LABEL}: AttributeError:")
    assert detail.endswith(".") and detail.count(". ") == 0
    assert verdicts["deploy.approved"].verdict == "pass"


def test_a_control_answering_nonsense_gives_error(monkeypatch):
    nonsense = dataclasses.replace(control("scan.clean"), evaluate=lambda deployment, settings: "ok")
    patched = tuple(nonsense if c.id == "scan.clean" else c for c in CONTROLS)
    monkeypatch.setattr(audit.controls, "CONTROLS", patched)
    verdict = evaluate_all(make_deployment(), Settings())["scan.clean"]
    assert verdict.verdict == "error"
    assert "TypeError" in verdict.detail and LABEL in verdict.detail
