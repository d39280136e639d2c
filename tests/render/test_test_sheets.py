"""With an auditor sample, each sampled deployment gets a test sheet built from its evidence.

Reads the demo store (the session's demo report), builds the findings with a sample of 6,
renders the HTML (the PDF uses the same template) and checks each sheet against the store.
"""

from __future__ import annotations

import re

import pytest
import sqlite_utils

from audit.config import Settings
from audit.findings import build_findings
from audit.quarter import Quarter
from audit.render import render_html

SIZE = 6


@pytest.fixture(scope="module")
def sampled(demo_report):
    db = sqlite_utils.Database(demo_report["db"])
    findings = build_findings(db, Quarter.parse("2024Q2"), Settings(), sample_size=SIZE, sample_seed="sheets")
    html = render_html(findings)
    sheets = re.findall(r'<section class="test-sheet" id="test-sheet-(\d+)">(.*?)</section>', html, re.DOTALL)
    return {"db": db, "findings": findings, "sheets": {int(number): body for number, body in sheets}}


def test_one_sheet_per_sampled_deployment(sampled):
    items = sampled["findings"]["sample"]["items"]
    assert len(items) == SIZE and sorted(sampled["sheets"]) == list(range(1, SIZE + 1))
    for number, item in enumerate(items, start=1):
        assert f"run {item['run_id']} of {item['repository']}" in sampled["sheets"][number]


def test_sheet_shows_the_stored_evidence(sampled):
    db = sampled["db"]
    for number, item in enumerate(sampled["findings"]["sample"]["items"], start=1):
        sheet = sampled["sheets"][number]
        for heading in ("Deployment approval", "Pull request", "Jobs", "Scan reports", "Verdicts"):
            assert f"<h3>{heading}</h3>" in sheet
        for label in ("Approval requested", "Approved", "Deployment approvers", "Rejection"):
            assert f"<th>{label}</th>" in sheet
        key = [item["repository"], item["run_id"]]
        for job in db.query("select * from jobs where repository = ? and run_id = ?", key):
            assert f"<td>{job['job_id']}</td>" in sheet
        for approval in db.query("select * from approvals where repository = ? and run_id = ?", key):
            assert f"<td>{approval['state']}</td>" in sheet
        for artifact in db.query("select * from artifacts where repository = ? and run_id = ?", key):
            assert f"<td>{artifact['artifact_id']}</td>" in sheet
            if artifact["capture_status"] == "captured" and artifact["scan_format"]:
                assert re.search(r"critical \d+ · high \d+ · medium \d+ · low \d+", sheet)
        pull = item["evidence"]["pull_request"]
        if pull:
            assert f"#{pull['number']}" in sheet
            for review in pull["reviews"]:
                assert f"<td>{review['review_id']}</td>" in sheet
        cited = {ref for result in item["evidence"]["controls"].values() for ref in result["evidence"]}
        assert cited and all(ref in sheet for ref in cited)
        box = sheet.split('<table class="auditor-box">', 1)[1]
        for label in ("Tested by", "Date", "Conclusion"):
            assert f'<th scope="row">{label}</th><td></td>' in box


def test_a_rejection_is_named(sampled):
    """Sheets print rejections from the evidence (the demo has rejected deployments)."""
    from audit.render.view import test_sheets

    findings = sampled["findings"]
    item = findings["sample"]["items"][0]
    rejected = {
        **item,
        "evidence": {
            **item["evidence"],
            "approvals": [{"user": "mallory", "state": "rejected", "environments": ["production"], "comment": "no"}],
        },
    }
    sheet = test_sheets({**findings, "sample": {**findings["sample"], "items": [rejected]}})[0]
    assert [a["user"] for a in sheet["rejections"]] == ["mallory"]
    html = render_html({**findings, "sample": {**findings["sample"], "items": [rejected]}})
    assert "rejected by mallory" in html
