"""findings.json against its JSON Schema, generated from the typed models (audit/documents.py): the
real demo output conforms, and both the schema and the models reject each way the contract can be broken."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

import audit.documents
from audit.controls import CONTROLS
from audit.documents import check_findings, findings_schema
from audit.evidence import VERDICTS
from benchmarks.synthetic import synthetic_findings

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _schema() -> dict:
    return findings_schema()


def _validator() -> Draft202012Validator:
    # jsonschema checks "date-time" only with an optional package installed; check it here.
    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(
        lambda value: (
            not isinstance(value, str)
            or bool(_RFC3339.match(value) and datetime.fromisoformat(value.replace("Z", "+00:00")))
        )
    )
    return Draft202012Validator(_schema(), format_checker=checker)


def _errors(findings: dict) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in _validator().iter_errors(findings)]


@pytest.fixture(scope="module")
def demo_findings(demo_report) -> dict:
    return json.loads((demo_report["dir"] / "findings.json").read_text(encoding="utf-8"))


def test_schema_is_valid_draft_2020_12():
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_names_every_control_and_verdict():
    defs = _schema()["$defs"]
    assert defs["Control"]["properties"]["id"]["enum"] == [control.id for control in CONTROLS]
    assert defs["Deployment"]["properties"]["controls"]["required"] == [control.id for control in CONTROLS]
    assert defs["Result"]["properties"]["verdict"]["enum"] == list(VERDICTS)


def test_demo_findings_conform(demo_findings):
    assert _errors(demo_findings) == []
    check_findings(demo_findings)
    assert demo_findings["deployments"], "the demo has a population"


def test_synthetic_findings_conform():
    """The renderer's tests and bench run on synthetic findings: they must look like real ones."""
    findings = json.loads(json.dumps(synthetic_findings(60, seed=3)))
    assert _errors(findings) == []
    check_findings(findings)


def _first_deployment(findings: dict) -> dict:
    return findings["deployments"][0]


def _drop_control(findings):
    del _first_deployment(findings)["controls"]["scan.clean"]


def _bad_verdict(findings):
    _first_deployment(findings)["controls"]["deploy.approved"]["verdict"] = "passed"


def _unknown_control_verdict(findings):
    _first_deployment(findings)["controls"]["deploy.reviewed"] = {"verdict": "pass", "detail": "x"}


def _no_detail(findings):
    del _first_deployment(findings)["controls"]["tests.passed"]["detail"]


def _control_missing_from_matrix(findings):
    findings["controls"] = [c for c in findings["controls"] if c["id"] != "deploy.timely"]


def _control_twice_in_matrix(findings):
    findings["controls"][-1] = copy.deepcopy(findings["controls"][0])


def _counts_missing_verdict(findings):
    del findings["controls"][0]["counts"]["not_available"]


def _bad_quarter(findings):
    findings["quarter"] = "2024-Q2"


def _period_without_end(findings):
    del findings["period"]["end"]


def _naive_created_at(findings):
    _first_deployment(findings)["created_at"] = "2024-04-01 11:52:57"


def _generated_at_not_a_time(findings):
    findings["generated_at"] = "yesterday"


def _demo_not_boolean(findings):
    findings["demo"] = "yes"


def _run_id_as_text(findings):
    _first_deployment(findings)["run_id"] = str(_first_deployment(findings)["run_id"])


def _deployment_without_head_sha(findings):
    del _first_deployment(findings)["head_sha"]


def _unknown_outcome(findings):
    _first_deployment(findings)["outcome"] = "deployed"


def _unknown_top_level_key(findings):
    findings["verdicts"] = {}


def _unknown_deployment_key(findings):
    _first_deployment(findings)["approved"] = True


def _malformed_repository(findings):
    findings["repositories"].append("not a repository")


def _response_to_unknown_control(findings):
    _first_deployment(findings)["responses"] = {
        "deploy.reviewed": {"response": "ok", "author": "dana", "recorded_at": "2024-07-03"}
    }


def _response_without_author(findings):
    _first_deployment(findings)["responses"] = {"scan.clean": {"response": "ok", "recorded_at": "2024-07-03"}}


def _response_with_unknown_category(findings):
    _first_deployment(findings)["responses"] = {
        "scan.clean": {"response": "ok", "author": "dana", "recorded_at": "2024-07-03", "category": "because"}
    }


def _sample_item_without_run(findings):
    findings["sample"] = {"seed": "1", "size": 1, "algorithm": "sha256", "items": [{"repository": "a/b"}]}


def _emergency_review_days_negative(findings):
    findings["emergency"]["review_days"] = -1


def _emergency_policy_unknown_key(findings):
    findings["emergency"]["window"] = 3


def _credentials_count_as_text(findings):
    findings["credentials"]["oidc"] = str(findings["credentials"]["oidc"])


def _oidc_token_as_text(findings):
    _first_deployment(findings)["oidc_token"] = "yes"


def _settings_observed_unknown_source(findings):
    findings["completeness"]["settings_observed"]["source"] = "guesswork"


def _half_year_out_of_range(findings):
    findings["quarter"] = "2024H3"


BROKEN = [
    _drop_control,
    _bad_verdict,
    _unknown_control_verdict,
    _no_detail,
    _control_missing_from_matrix,
    _control_twice_in_matrix,
    _counts_missing_verdict,
    _bad_quarter,
    _period_without_end,
    _naive_created_at,
    _generated_at_not_a_time,
    _demo_not_boolean,
    _run_id_as_text,
    _deployment_without_head_sha,
    _unknown_outcome,
    _unknown_top_level_key,
    _unknown_deployment_key,
    _malformed_repository,
    _response_to_unknown_control,
    _response_without_author,
    _response_with_unknown_category,
    _sample_item_without_run,
    _emergency_review_days_negative,
    _emergency_policy_unknown_key,
    _credentials_count_as_text,
    _oidc_token_as_text,
    _settings_observed_unknown_source,
    _half_year_out_of_range,
]


@pytest.mark.parametrize("label", ["2024Q2", "2024H1", "2024", "2024-01-15..2024-03-31"])
def test_every_period_label_conforms(demo_findings, label):
    """The period work's labels (a half-year, a year, a date range) are findings.json quarters too."""
    findings = copy.deepcopy(demo_findings)
    findings["quarter"] = label
    assert _errors(findings) == []
    check_findings(findings)


def test_period_sections_are_in_the_demo(demo_findings):
    """The emergency policy, the settings in force and the credentials count are typed, not free-form."""
    assert {"emergency", "settings_in_force", "credentials"} <= set(demo_findings)
    assert set(_schema()["properties"]) >= {"emergency", "settings_in_force", "credentials"}


@pytest.mark.parametrize("breakage", BROKEN, ids=[b.__name__.strip("_") for b in BROKEN])
def test_schema_rejects(demo_findings, breakage):
    broken = copy.deepcopy(demo_findings)
    breakage(broken)
    assert _errors(broken), f"{breakage.__name__} should not validate"
    with pytest.raises(ValidationError):
        check_findings(broken)


@pytest.mark.parametrize(
    "contract_key",
    ["quarter", "period", "generated_at", "demo", "repositories", "completeness", "controls", "deployments"],
)
def test_every_contract_key_is_required(demo_findings, contract_key):
    broken = {key: value for key, value in demo_findings.items() if key != contract_key}
    assert any("required property" in message for message in _errors(broken))


def test_build_findings_refuses_a_document_the_schema_would_reject(demo_report):
    """The models guard the writer: a findings dict that breaks them never reaches a report."""
    findings = json.loads((demo_report["dir"] / "findings.json").read_text(encoding="utf-8"))
    _first_deployment(findings)["controls"]["scan.clean"]["verdict"] = "passed"
    with pytest.raises(ValidationError, match="verdict"):
        check_findings(findings)


def test_findings_record_the_versions_that_shape_the_output(demo_findings):
    libraries = demo_findings["generator"]["libraries"]
    assert set(libraries) == {"PyGithub", "WeasyPrint", "pyHanko"}
    assert all(version for version in libraries.values()), libraries


def test_a_broken_deployment_past_the_first_batch_is_rejected_where_it_is(demo_findings, monkeypatch):
    """`check_findings` checks the deployments a batch at a time, and still names the broken one's place."""
    monkeypatch.setattr(audit.documents, "DEPLOYMENTS_AT_ONCE", 100)
    assert len(demo_findings["deployments"]) > 250
    findings = copy.deepcopy(demo_findings)
    findings["deployments"][250]["controls"]["scan.clean"]["verdict"] = "passed"
    with pytest.raises(ValidationError) as raised:
        check_findings(findings)
    assert [error["loc"][:2] for error in raised.value.errors()] == [("deployments", 250)]
    del findings["deployments"]
    with pytest.raises(ValidationError, match="deployments"):
        check_findings(findings)
