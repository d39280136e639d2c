"""`make browse-check`: a smoke test of the workbench in a real headless browser (Debian's chromium).

1. Serves the store with Datasette on 127.0.0.1 (as `make browse` does), loads the index and
   one canned query (deploy.from_main with the latest evaluation's settings) in chromium,
   saves a screenshot of each, and fails on any HTTP error or error page.
2. Opens report.html from disk and fails on any request leaving the page (chromium's own
   network log lists every URL it requested) or any script error on its console.

Chromium runs headless with a fresh profile, no background networking, and a host resolver
that maps every name but 127.0.0.1 to "not found": nothing can leave the machine.

    python -m audit.browse.check output/evidence.db output/2024Q2/report.html output/browse-check
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from audit.browse import latest_parameters
from audit.reperform import parameter_names

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
)
ERROR_MARKERS = ("<title>Error", "ERR_", "This site can’t be reached", "Traceback (most recent call last)")


class CheckFailed(Exception):
    """One line saying what the browser found wrong."""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise CheckFailed("chromium is not installed (Debian: apt-get install chromium)")


def _run_chromium(*arguments: str, profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = server.stderr.read()[-500:] if server.stderr is not None else ""
            raise CheckFailed(f"datasette exited with {server.returncode}: {error}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise CheckFailed(f"datasette did not answer {url} within {seconds:.0f} s")


def check_page(url: str, screenshot: Path, profile: Path) -> None:
    """Load `url`: HTTP 200, no error page, and a screenshot of it."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise CheckFailed(f"{url} answered HTTP {status}")
    dom = _run_chromium("--dump-dom", url, profile=profile).stdout
    marker = next((m for m in ERROR_MARKERS if m in dom), None)
    if not dom.strip() or marker:
        raise CheckFailed(f"{url} shows an error page ({marker or 'empty'})")
    _run_chromium(f"--screenshot={screenshot}", url, profile=profile)
    if not screenshot.is_file() or screenshot.stat().st_size < 1000:
        raise CheckFailed(f"no screenshot of {url}")


def check_report(report: Path, profile: Path, netlog: Path) -> None:
    """Open report.html from disk: no request made by the page, no script error."""
    page = report.resolve().as_uri()
    result = _run_chromium(
        f"--log-net-log={netlog}", "--enable-logging=stderr", "--v=0", "--dump-dom", page, profile=profile
    )
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    if console:
        raise CheckFailed(f"script error on {report.name}: {console[0].strip()[:200]}")
    if "</body>" not in result.stdout:
        raise CheckFailed(f"{report.name} did not load")
    leaving = sorted(page_requests(netlog) - {page})
    if leaving:
        raise CheckFailed(f"{report.name} requested {len(leaving)} URL(s) outside the page, first: {leaving[0][:200]}")


def page_requests(netlog: Path) -> set[str]:
    """URLs the page asked for, from chromium's NetLog.

    Chromium's own background requests (time, updates, accounts) carry the initiator "not
    an origin" and are left out: the host resolver rules already stop them on the machine.
    A log cut short (chromium exiting) lacks its closing brackets; they are added back.
    """
    text = netlog.read_text(encoding="utf-8", errors="replace").rstrip().rstrip(",")
    for ending in ("", "]}", "}]}"):
        try:
            log = json.loads(text + ending)
            break
        except json.JSONDecodeError:
            continue
    else:
        raise CheckFailed(f"chromium's network log {netlog} is unreadable")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return {
        event["params"]["url"]
        for event in log.get("events", [])
        if event.get("type") == start_job
        and isinstance(event.get("params", {}).get("url"), str)
        and event["params"].get("initiator") != "not an origin"
        and not event["params"]["url"].startswith("data:")
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        print("usage: python -m audit.browse.check EVIDENCE.db REPORT.html OUTPUT_DIR", file=sys.stderr)
        return 2
    database, report, output = Path(argv[0]), Path(argv[1]), Path(argv[2])
    for path in (database, report):
        if not path.is_file():
            print(f"{path} does not exist: run `make report` first", file=sys.stderr)
            return 2
    output.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "audit.browse", str(database), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="browse-check-") as scratch:
            profile = Path(scratch) / "profile"
            base = f"http://127.0.0.1:{port}"
            _wait_for(base + "/-/versions.json", server)
            values = latest_parameters(database)
            query = f"{base}/{database.stem}/deploy_from_main?" + urlencode(
                {key: values[key] for key in parameter_names("deploy_from_main") if key in values}
            )
            check_page(base + "/", output / "index.png", profile)
            check_page(query, output / "deploy_from_main.png", profile)
            check_report(report, Path(scratch) / "report-profile", Path(scratch) / "netlog.json")
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        print(f"browse-check FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"browse-check passed: screenshots in {output}; {report.name} requested nothing outside itself")
    return 0


if __name__ == "__main__":
    sys.exit(main())
