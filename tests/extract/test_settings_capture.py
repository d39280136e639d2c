"""Settings in force and deploy credentials, captured from the fake GitHub.

Branch protection and ruleset rules are snapshotted at each extraction; the organisation
audit log is read when readable (and its refusal recorded when not); each production run's
workflow file is resolved to a blob per commit and each distinct blob is read once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.evaluate import evaluate_quarter
from audit.extract import Extractor, GitHubClient
from audit.findings import build_findings

from .conftest import QUARTER, new_store

REPOSITORY = "synthetic/service-000"
WORKFLOW = ".github/workflows/deploy.yml"
SWITCH = datetime(2024, 5, 15, tzinfo=UTC)
SECRETS = (
    "on: push\njobs:\n  deploy-production:\n    environment: production\n    steps:\n"
    "      - run: deploy --key ${{ secrets.CLOUD_KEY }}\n"
)
OIDC = (
    "on: push\npermissions:\n  id-token: write\n  contents: read\n"
    "jobs:\n  deploy-production:\n    steps:\n      - run: deploy\n"
)


def _event(moment: datetime, actor: str, reviews: int) -> dict:
    millis = int(moment.timestamp() * 1000)
    return {
        "@timestamp": millis,
        "created_at": millis,
        "_document_id": f"doc-{millis}",
        "action": "protected_branch.update",
        "actor": actor,
        "repo": REPOSITORY,
        "name": "main",
        "required_approving_review_count": reviews,
        "pull_request_reviews_enforcement_level": "non_admins" if reviews else "off",
        "required_status_checks": ["test"],
    }


def _world(*, audit_log: bool):
    world = synthetic_world(deployments=12, artifacts=False)
    repo = world.repositories[REPOSITORY]
    repo.branch_protection = {"required_approving_review_count": 1, "dismiss_stale_reviews": True, "contexts": ["test"]}
    repo.workflow_files[WORKFLOW] = [(repo.created_at, SECRETS), (SWITCH, OIDC)]
    if audit_log:
        world.audit_log = [
            _event(datetime(2024, 3, 1, tzinfo=UTC), "ops-admin", 1),
            _event(datetime(2024, 5, 2, 9, tzinfo=UTC), "dev03", 0),
            _event(datetime(2024, 5, 16, 17, tzinfo=UTC), "ops-admin", 1),
        ]
    return world


def _extract(server, db):
    client = GitHubClient(server.base_url, None)
    try:
        return Extractor(db, client, Settings(), QUARTER).run([REPOSITORY], organization="synthetic")
    finally:
        client.close()


@pytest.fixture(scope="module")
def captured():
    with FakeGitHub(_world(audit_log=True)) as server:
        db = new_store()
        _extract(server, db)
        first = list(server.requests)
        server.reset_requests()
        _extract(server, db)
        again = list(server.requests)
    evaluate_quarter(db, QUARTER, Settings(), demo=False)
    return {"db": db, "first": first, "again": again, "findings": build_findings(db, QUARTER, Settings())}


def test_branch_protection_and_rules_are_snapshotted_per_capture(captured):
    rows = list(captured["db"].query("select * from branch_snapshots order by captured_at, source"))
    protection = [r for r in rows if r["source"] == "protection"]
    rules = [r for r in rows if r["source"] == "rules"]
    assert len(protection) == len(rules) >= 1
    assert (protection[0]["readable"], protection[0]["required_reviews"], protection[0]["required_checks"]) == (
        1,
        1,
        '["test"]',
    )
    assert (rules[0]["readable"], rules[0]["required_reviews"]) == (1, 0)


def test_each_distinct_workflow_blob_is_read_once(captured):
    db = captured["db"]
    commits = db.execute("select count(distinct head_sha) from workflow_runs").fetchone()[0]
    assert db.execute("select count(*) from workflow_files").fetchone()[0] == commits
    assert db.execute("select count(*) from workflow_blobs").fetchone()[0] == 2
    texts = db.execute("select sum(requests) from extraction_log where query like '%Blob text'").fetchone()[0]
    assert texts == 1  # both blobs in one GraphQL query, never one per run
    again = [q for (q,) in db.execute("select query from extraction_log where extraction_id = 2")]
    assert not [q for q in again if "Blob" in q]


def test_every_settings_request_is_logged(captured):
    db = captured["db"]
    logged = db.execute("select sum(requests) from extraction_log where extraction_id = 1").fetchone()[0]
    assert logged == len([r for r in captured["first"] if not r.blob])
    paths = [r.path for r in captured["first"]]
    assert paths.count("/orgs/synthetic/audit-log") == 3
    assert sum(p.endswith("/branches/main/protection") for p in paths) == 1


def test_oidc_column_and_figure(captured):
    findings = captured["findings"]
    by_time = sorted(findings["deployments"], key=lambda d: d["created_at"])
    assert {d["oidc_token"] for d in by_time if d["created_at"] < SWITCH.isoformat()} == {False}
    assert {d["oidc_token"] for d in by_time if d["created_at"] >= SWITCH.isoformat()} == {True}
    credentials = findings["credentials"]
    assert credentials["oidc"] + credentials["secrets_only"] == len(by_time) and credentials["oidc"] > 0


def test_audit_log_dates_the_weakening_exactly(captured):
    section = captured["findings"]["settings_in_force"]
    assert section["source"] == "audit_log" and section["continuously_observed"] is True
    (repository,) = section["repositories"]
    branch = next(o for o in repository["objects"] if o["kind"] == "branch")
    (window,) = branch["windows"]
    assert (window["start"], window["end"], window["exact"]) == (
        "2024-05-02T09:00:00+00:00",
        "2024-05-16T17:00:00+00:00",
        True,
    )
    assert window["actor"] == "dev03"
    assert window["weaknesses"] == ["no approving review required (change.reviewed)"]
    inside = [d for d in captured["findings"]["deployments"] if "2024-05-02T09" <= d["created_at"] < "2024-05-16T17"]
    assert len(window["deployments"]) == len(inside)
    assert [c["actor"] for c in branch["changes"]] == ["dev03", "ops-admin"]


def test_an_unreadable_audit_log_is_recorded_not_ignored():
    with FakeGitHub(_world(audit_log=False)) as server:
        db = new_store()
        _extract(server, db)
        assert server.request_count("/orgs/synthetic/audit-log") == 1  # one refusal is enough
    (read,) = db.query("select * from audit_log_reads")
    assert read["readable"] == 0 and "404" in read["detail"]
    evaluate_quarter(db, QUARTER, Settings(), demo=False)
    section = build_findings(db, QUARTER, Settings())["settings_in_force"]
    assert section["source"] == "captures" and section["audit_log"]["readable"] is False
    # one capture (now, after the quarter) observes nothing inside it: a gap, said plainly
    assert section["continuously_observed"] is False and section["gaps"]
