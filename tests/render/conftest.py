"""One rendered package shared by the PDF tests, and a loopback server that counts fetches."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from audit.render import write_report

from .factories import make_hostile_findings

POPULATION_LIMIT = 5
"""Small, so the shared PDF shows the population cut and its pointer sentence."""


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body{color:red}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="package")
def fetch_recorder():
    """A server on 127.0.0.1 recording every request path; yields (port, hits)."""
    handler = type("Recorder", (_Recorder,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler.hits
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="package")
def hostile_findings(fetch_recorder):
    port, _ = fetch_recorder
    return make_hostile_findings(port)


@pytest.fixture(scope="package")
def package(tmp_path_factory, hostile_findings) -> dict[str, Path]:
    """write_report over the hostile findings, once for the whole test package."""
    return write_report(hostile_findings, tmp_path_factory.mktemp("package"), population_pdf_limit=POPULATION_LIMIT)


def poppler(tool: str, *args: str) -> str:
    """Run a poppler-utils tool, skipping the test when it is not installed."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="package")
def pdf_pages(package) -> list[str]:
    """The PDF's text, one string per page."""
    text = poppler("pdftotext", "-layout", str(package["report.pdf"]), "-")
    return text.split("\f")[:-1]
