"""Management responses: the file's strict validation, matching against stored verdicts, and
their place in findings.json and the report — beside a verdict, never changing one."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from audit.config import Settings
from audit.controls import CONTROLS
from audit.errors import UsageError
from audit.findings import build_findings
from audit.quarter import Quarter
from audit.render import render_html
from audit.responses import apply_responses, load_responses, responses_path
from audit.store import open_store
from tests.conftest import run_cli

QUARTER = Quarter.parse("2024Q2")

ENTRY = {
    "repository": "acme/payments-api",
    "run_id": 9000000687,
    "control": "evidence.retained",
    "category": "compensating-control",
    "response": "Statuses expired before capture; CHG-1234 records the approval.",
    "author": "dana.compliance",
    "recorded_at": "2024-07-03",
}


def toml_value(value) -> str:
    if isinstance(value, str) and not value.startswith("@"):
        return json.dumps(value)
    return str(value).lstrip("@")  # "@2024-07-03" is written as a bare TOML date


def make_entry(**overrides) -> dict:
    """One [[response]] table; a value None drops the key."""
    entry = {**ENTRY, "recorded_at": "@2024-07-03", **overrides}
    return {key: value for key, value in entry.items() if value is not None}


def write_responses(path: Path, *entries: dict, header: str = "") -> Path:
    lines = [header] if header else []
    for entry in entries:
        lines.append("[[response]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in entry.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def copy_store(source: Path, target: Path) -> Path:
    """A private copy of the evidence store (SQLite backup, so WAL content is included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


# -- the file ---------------------------------------------------------------------------------


def test_a_valid_file_parses(tmp_path):
    path = write_responses(
        tmp_path / "responses.toml",
        make_entry(reference="https://jira.acme.example/browse/CHG-1234"),
        make_entry(control="*", category="emergency-change", recorded_at="@2024-07-03T09:30:00+02:00"),
        make_entry(recorded_at="2024-07-04T08:00:00Z", environment="production"),
    )
    loaded = load_responses(path)
    assert [e.recorded_at for e in loaded.entries] == [
        "2024-07-03",
        "2024-07-03T09:30:00+02:00",
        "2024-07-04T08:00:00+00:00",
    ]
    assert loaded.entries[0].reference == "https://jira.acme.example/browse/CHG-1234"
    assert loaded.entries[1].reference is None and loaded.entries[2].environment == "production"
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_file_has_no_entries(tmp_path):
    assert load_responses(write_responses(tmp_path / "r.toml")).entries == ()


@pytest.mark.parametrize(
    ("entry", "header", "message"),
    [
        (make_entry(ticket="CHG-1"), "", "unknown key 'ticket'"),
        (make_entry(author=None), "", "missing author"),
        (make_entry(response=None, recorded_at=None), "", "missing response, recorded_at"),
        (make_entry(control="deploy.aproved"), "", "unknown control 'deploy.aproved'"),
        (make_entry(category="because"), "", "unknown category 'because'"),
        (make_entry(run_id='@"9000000687"'), "", "run_id must be a positive whole number"),
        (make_entry(run_id="@0"), "", "run_id must be a positive whole number"),
        (make_entry(repository="payments-api"), "", "invalid repository 'payments-api'"),
        (make_entry(response="  "), "", "response must be a non-empty string"),
        (make_entry(reference="@42"), "", "reference must be a non-empty string"),
        (make_entry(recorded_at="@2024-07-03T09:30:00"), "", "needs a UTC offset"),
        (make_entry(recorded_at="last tuesday"), "", "recorded_at must be a date"),
        (make_entry(), "owner = 'dana'", "unknown top-level key 'owner'"),
    ],
    ids=[
        "unknown-key",
        "missing-field",
        "missing-fields",
        "unknown-control",
        "unknown-category",
        "run-id-text",
        "run-id-zero",
        "bad-repository",
        "blank-response",
        "reference-number",
        "naive-datetime",
        "not-a-date",
        "top-level-key",
    ],
)
def test_a_malformed_entry_is_one_usage_error(tmp_path, entry, header, message):
    path = write_responses(tmp_path / "responses.toml", make_entry(), entry, header=header)
    with pytest.raises(UsageError, match=message) as raised:
        load_responses(path)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ") and ("response 2" in text or "top-level" in text)


def test_not_toml_and_not_an_array(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[response]\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_responses(bad)
    bad.write_text("[response]\nrun_id = 1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"write \[\[response\]\]"):
        load_responses(bad)


def test_where_the_file_comes_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUDIT_RESPONSES", raising=False)
    assert responses_path(None) is None
    write_responses(tmp_path / "responses.toml", make_entry())
    assert responses_path(None) == Path("responses.toml")
    other = write_responses(tmp_path / "q2.toml", make_entry())
    monkeypatch.setenv("AUDIT_RESPONSES", str(other))
    assert responses_path(None) == other
    assert responses_path(tmp_path / "responses.toml") == tmp_path / "responses.toml"
    with pytest.raises(UsageError, match="does not exist"):
        responses_path(tmp_path / "missing.toml")


# -- matching against the demo's stored verdicts ----------------------------------------------


@pytest.fixture(scope="module")
def store(demo_report, tmp_path_factory):
    path = copy_store(demo_report["db"], tmp_path_factory.mktemp("responses") / "evidence.db")
    return open_store(path, create=False)


def _verdicts(db) -> dict:
    result: dict = {}
    for row in db.query("select * from verdicts where quarter = ?", [str(QUARTER)]):
        key = (row["repository"], row["run_id"], row["environment"])
        result.setdefault(key, {})[row["control_id"]] = row["verdict"]
    return result


def _exceptions(results: dict) -> list[str]:
    """Control ids with an exception, in control order (as findings.json lists them)."""
    return [c.id for c in CONTROLS if results.get(c.id) in ("fail", "not_available", "error")]


@pytest.fixture(scope="module")
def examples(store) -> dict:
    """Demo deployments to answer: one with several exceptions, one with none."""
    verdicts = _verdicts(store)
    several = next(key for key, results in sorted(verdicts.items()) if len(_exceptions(results)) >= 2)
    clean = next(key for key, results in sorted(verdicts.items()) if not _exceptions(results))
    return {"several": several, "clean": clean, "verdicts": verdicts}


def entry_for(key, **overrides) -> dict:
    repository, run_id, _ = key
    return make_entry(repository=repository, run_id=f"@{run_id}", **overrides)


def test_a_response_attaches_to_its_exception(store, examples, tmp_path):
    key = examples["several"]
    control = _exceptions(examples["verdicts"][key])[0]
    path = write_responses(tmp_path / "r.toml", entry_for(key, control=control, reference="CHG-1234"))
    applied = apply_responses(load_responses(path), store, QUARTER)
    assert applied.by_deployment == {
        key: {
            control: {
                "response": ENTRY["response"],
                "category": "compensating-control",
                "author": "dana.compliance",
                "recorded_at": "2024-07-03",
                "reference": "CHG-1234",
            }
        }
    }
    assert applied.applied == 1 and applied.other_quarters == ()
    assert applied.source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_star_answers_every_exception_of_the_run(store, examples, tmp_path):
    key = examples["several"]
    path = write_responses(tmp_path / "r.toml", entry_for(key, control="*", category="emergency-change"))
    applied = apply_responses(load_responses(path), store, QUARTER)
    assert list(applied.by_deployment[key]) == _exceptions(examples["verdicts"][key])
    assert applied.applied == len(_exceptions(examples["verdicts"][key]))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("passing-control", "a response answers fail, not_available or error"),
        ("star-without-exceptions", "has no exception to answer"),
        ("unknown-run", "no production deployment of that run in the evidence store"),
        ("other-environment", "not 'staging'"),
        ("answered-twice", "is already answered by response 1"),
    ],
)
def test_a_response_that_fits_no_exception_is_a_usage_error(store, examples, tmp_path, case, message):
    several, clean = examples["several"], examples["clean"]
    first_exception = _exceptions(examples["verdicts"][several])[0]
    entries = {
        "passing-control": [entry_for(clean, control="change.reviewed")],
        "star-without-exceptions": [entry_for(clean, control="*")],
        "unknown-run": [entry_for(("acme-fintech/ledger", 1234, "production"), control="*")],
        "other-environment": [entry_for(several, control="*", environment="staging")],
        "answered-twice": [entry_for(several, control=first_exception), entry_for(several, control="*")],
    }[case]
    path = write_responses(tmp_path / "r.toml", *entries)
    with pytest.raises(UsageError, match=message) as raised:
        apply_responses(load_responses(path), store, QUARTER)
    assert "\n" not in str(raised.value)


def test_a_run_of_another_quarter_is_skipped(demo_report, examples, tmp_path):
    db = open_store(copy_store(demo_report["db"], tmp_path / "evidence.db"), create=False)
    template = dict(next(db.query("select * from workflow_runs limit 1")))
    db["workflow_runs"].insert({**template, "run_id": 8000000001, "created_at": "2024-01-15T10:00:00Z"})
    old = entry_for(("acme-fintech/ledger", 8000000001, "production"), control="*")
    path = write_responses(tmp_path / "r.toml", old, entry_for(examples["several"], control="*"))
    applied = apply_responses(load_responses(path), db, QUARTER)
    assert [e.run_id for e in applied.other_quarters] == [8000000001]
    assert list(applied.by_deployment) == [examples["several"]]
    assert applied.source["other_quarters"] == 1 and applied.source["entries"] == 2


def test_a_response_never_changes_a_verdict_or_a_count(store, examples, tmp_path):
    verdicts = examples["verdicts"]
    answered = [key for key, results in sorted(verdicts.items()) if _exceptions(results)][:10]
    path = write_responses(tmp_path / "r.toml", *(entry_for(key, control="*") for key in answered))
    applied = apply_responses(load_responses(path), store, QUARTER)
    settings = Settings()
    without = build_findings(store, QUARTER, settings)
    with_responses = build_findings(
        store, QUARTER, settings, responses=applied.by_deployment, responses_file=applied.source
    )
    assert [c["counts"] for c in with_responses["controls"]] == [c["counts"] for c in without["controls"]]
    assert [d["controls"] for d in with_responses["deployments"]] == [d["controls"] for d in without["deployments"]]
    shown = {
        (d["repository"], d["run_id"], d["environment"]): d["responses"]
        for d in with_responses["deployments"]
        if d["responses"]
    }
    assert set(shown) == set(answered)
    for key, responses in shown.items():
        assert all(verdicts[key][control] != "pass" for control in responses)
    assert with_responses["responses_file"] == applied.source and without["responses_file"] is None
    html = render_html(with_responses)
    assert html.count('class="response"') == applied.applied
    assert "compensating control · dana.compliance, 2024-07-03" in html


# -- through the CLI ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(demo_report, examples, tmp_path_factory):
    """One `render --responses … --sample-size … --sample-seed …` on a copy of the demo store."""
    tmp = tmp_path_factory.mktemp("render-responses")
    db = copy_store(demo_report["db"], tmp / "evidence.db")
    path = write_responses(
        tmp / "q2-responses.toml",
        entry_for(
            examples["several"],
            control="*",
            category="emergency-change",
            reference="https://jira.acme.example/browse/CHG-77",
        ),
    )
    result = run_cli(
        "render",
        "--quarter",
        "2024Q2",
        "--db",
        str(db),
        "--output",
        str(tmp / "out"),
        "--responses",
        str(path),
        "--sample-size",
        "7",
        "--sample-seed",
        "fy2024",
        cwd=tmp,
        env=demo_report["env"],
    )
    assert result.returncode == 0, result.stderr
    return {"dir": tmp / "out", "responses": path, "result": result, "db": db, "tmp": tmp}


def test_render_carries_responses_into_findings_and_report(rendered, examples):
    findings = json.loads((rendered["dir"] / "findings.json").read_text(encoding="utf-8"))
    key = examples["several"]
    deployment = next(d for d in findings["deployments"] if (d["repository"], d["run_id"], d["environment"]) == key)
    assert list(deployment["responses"]) == _exceptions(examples["verdicts"][key])
    assert all(r["category"] == "emergency-change" for r in deployment["responses"].values())
    assert findings["responses_file"]["sha256"] == hashlib.sha256(rendered["responses"].read_bytes()).hexdigest()
    html = (rendered["dir"] / "report.html").read_text(encoding="utf-8")
    assert '<a href="https://jira.acme.example/browse/CHG-77">' in html
    assert "exceptions answered from" in rendered["result"].stderr + rendered["result"].stdout


def test_render_adds_the_requested_sample(rendered):
    findings = json.loads((rendered["dir"] / "findings.json").read_text(encoding="utf-8"))
    assert findings["sample"]["seed"] == "fy2024" and findings["sample"]["size"] == 7
    assert 'id="sample"' in (rendered["dir"] / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--responses", "missing.toml"], "responses file missing.toml does not exist"),
        (["--responses", "bad.toml"], "unknown control 'deploy.aproved'"),
        (["--sample-size", "5"], "--sample-size and --sample-seed go together"),
    ],
)
def test_render_stops_with_one_line(rendered, demo_report, args, message):
    write_responses(rendered["tmp"] / "bad.toml", make_entry(control="deploy.aproved"))
    result = run_cli(
        "render",
        "--quarter",
        "2024Q2",
        "--db",
        str(rendered["db"]),
        "--output",
        str(rendered["tmp"] / "bad"),
        *args,
        cwd=rendered["tmp"],
        env=demo_report["env"],
    )
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (rendered["tmp"] / "bad" / "findings.json").exists()


def test_report_checks_the_responses_file_before_extracting(demo_report, tmp_path):
    """`report` fails on a malformed file before starting a (demo) extraction."""
    write_responses(tmp_path / "responses.toml", make_entry(category="because"))
    result = run_cli(
        "report", "--quarter", "2024Q2", "--db", str(tmp_path / "e.db"), cwd=tmp_path, env=demo_report["env"]
    )
    assert result.returncode == 2 and "unknown category 'because'" in result.stderr
    assert not (tmp_path / "e.db").exists()
