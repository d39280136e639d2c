"""`make browse-check`'s report check in a real headless chromium: it fails on a page that
requests anything or has a script error, and passes the demo's report.html."""

from __future__ import annotations

import re
import shutil

import pytest

from audit.browse.check import CheckFailed, check_report

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium (Debian) is not installed")


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ('<img src="http://127.0.0.1:9/pixel.png" alt="">', "requested 1 URL(s) outside the page"),
        ("<script>undefinedFunction()</script>", "script error"),
    ],
)
def test_a_leaking_or_broken_page_fails(tmp_path, body, complaint):
    page = tmp_path / "page.html"
    page.write_text(f'<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>{body}</body></html>')
    with pytest.raises(CheckFailed, match=re.escape(complaint)):
        check_report(page, tmp_path / "profile", tmp_path / "netlog.json")


def test_the_demo_report_requests_nothing(demo_report, tmp_path):
    check_report(demo_report["dir"] / "report.html", tmp_path / "profile", tmp_path / "netlog.json")
