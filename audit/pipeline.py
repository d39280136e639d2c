"""The pipeline as plain functions: extract → evaluate → render → sign → verify.

Each stage reads only what the previous one stored, so each is callable alone, from the
CLI (`audit/cli.py` only parses arguments and calls these) or from Python:

    settings = load_settings()
    with github_scope(settings) as scope:
        extract(scope, settings, quarter, db_path)
    evaluate(settings, quarter, db_path)
    render(settings, quarter, db_path, output_dir)
    sign(output_dir, load_identity(demo=scope.demo))
    verify(output_dir)

Progress goes to a `Reporter` (stderr); library callers get silence by default. Heavy
stages (WeasyPrint, pyHanko, PyGithub) are imported inside the functions that use them,
so `soc2-audit quarter` or `--help` start instantly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit import times
from audit.config import Environment, Settings
from audit.errors import UsageError
from audit.period import Period
from audit.progress import Reporter, Silent
from audit.quarter import Quarter

if TYPE_CHECKING:
    from github.Auth import Auth

    from audit.evaluate import EvaluationSummary
    from audit.extract import ExtractionSummary
    from audit.extract.doctor import Probe
    from audit.merge import MergeSummary
    from audit.render.drawing import PdfDrawer
    from audit.signing import SigningIdentity, VerificationReport


@dataclass(frozen=True)
class Scope:
    """Where to extract from: the API, the repositories, and whether this is the demo."""

    api_url: str
    token: str | Auth | None
    """A token, or PyGithub's GitHub App installation auth (it renews its own token)."""
    repositories: tuple[str, ...]
    organization: str | None
    demo: bool


def default_output_dir(quarter: Period) -> Path:
    """output/<QUARTER>, relative to the working directory."""
    return Path("output") / str(quarter)


@contextmanager
def github_scope(settings: Settings, repos: Sequence[str] = (), progress: Reporter | None = None) -> Iterator[Scope]:
    """Resolve the repositories and API; in demo mode, serve the demo organisation meanwhile.

    Demo mode is chosen here and only here: no GITHUB_TOKEN and nothing in scope.
    """
    progress = progress or Silent()
    environment = Environment.from_os()
    repositories = tuple(repos) or environment.repositories or settings.repositories
    if environment.token is None and environment.app_id is None and not repositories and not settings.organization:
        from audit.demo.organisation import DEMO_ORGANIZATION, start_demo_server

        progress.say(
            "DEMO MODE: no GITHUB_TOKEN and no repositories configured — using the built-in "
            f"demo organisation {DEMO_ORGANIZATION} on a local fake GitHub. This is not real evidence.",
            style="bold yellow",
        )
        server = start_demo_server()
        try:
            # The demo names no repositories: they are discovered through the organisation,
            # exercising the same path as `organization = "..."` in audit.toml.
            yield Scope(server.base_url, None, (), DEMO_ORGANIZATION, True)
        finally:
            server.stop()
        return
    if not repositories and not settings.organization:
        raise UsageError(
            "GITHUB_TOKEN is set but no repository is configured: pass --repo OWNER/NAME, "
            "set AUDIT_REPOS, or set repositories/organization in audit.toml"
        )
    if environment.app_id and environment.app_private_key:
        from audit.extract.client import app_installation_auth

        installed_on = repositories[0] if repositories else str(settings.organization)  # one is set (above)
        app = app_installation_auth(environment.api_url, environment.app_id, environment.app_private_key, installed_on)
        yield Scope(environment.api_url, app, tuple(repositories), settings.organization, False)
        return
    yield Scope(environment.api_url, environment.token, tuple(repositories), settings.organization, False)


def is_demo(db, quarter: Period) -> bool:
    """Whether the period's stored evidence came from the demo organisation (its extractions say;
    a year is usually captured quarter by quarter, so every extraction overlapping it counts)."""
    from audit.evaluate import extractions_overlapping

    return any(row["demo"] for row in extractions_overlapping(db, quarter))


def extract(
    scope: Scope,
    settings: Settings,
    quarter: Period,
    db_path: Path,
    *,
    max_wait: float = 900,
    progress: Reporter | None = None,
) -> ExtractionSummary:
    """Capture the quarter's evidence from GitHub into the store (incremental, one writer at a time)."""
    from audit.extract import Extractor, GitHubClient
    from audit.store import open_store, writer_lock

    progress = progress or Silent()
    with writer_lock(db_path):
        db = open_store(db_path)
        loopback = scope.api_url.startswith(("http://127.0.0.1", "http://localhost"))
        client = GitHubClient(
            scope.api_url, scope.token, throttle=None if loopback else 0.25, max_wait=max_wait, on_wait=progress.say
        )
        try:
            summary = Extractor(db, client, settings, quarter, demo=scope.demo, progress=progress).run(
                list(scope.repositories), organization=scope.organization
            )
        finally:
            client.close()
    progress.say(
        f"extracted {quarter}: {summary.production_deployments} production deployments, "
        f"{summary.runs_listed} runs listed in {len(summary.windows)} windows, "
        f"{summary.runs_captured} runs captured, {summary.requests} API requests"
    )
    if summary.degraded:
        lookups = sum(summary.degraded.values())
        progress.say(f"{lookups} lookups degraded: " + "; ".join(summary.degraded_reasons))
    counter = client.counter
    if counter.retries:
        progress.say(f"{counter.retries} requests retried after faults or rate limits, {counter.waited:.0f} s waited")
    if counter.rate_remaining is not None:
        progress.say(f"rate budget left: {counter.rate_remaining} requests until GitHub's next reset")
    return summary


def doctor(scope: Scope, *, progress: Reporter | None = None) -> list[Probe]:
    """Probe, once per repository in scope, every endpoint the capture needs: a table of what
    the token may not read (`audit.extract.doctor`), to run before a long extraction."""
    from audit.extract import GitHubClient
    from audit.extract.doctor import check_access

    (progress or Silent()).say(f"probing {len(scope.repositories) or 'the organisation'} repositories")
    client = GitHubClient(scope.api_url, scope.token)
    try:
        return check_access(client, list(scope.repositories), scope.organization)
    finally:
        client.close()


def evaluate(
    settings: Settings, quarter: Period, db_path: Path, *, progress: Reporter | None = None
) -> EvaluationSummary:
    """Compute every control's verdict for each deployment of the quarter and store them."""
    from audit.evaluate import evaluate_quarter
    from audit.store import open_store

    db = open_store(db_path, create=False)
    summary = evaluate_quarter(db, quarter, settings, demo=is_demo(db, quarter))
    failing = sum(counts.get("fail", 0) for counts in summary.counts.values())
    (progress or Silent()).say(f"evaluated {quarter}: {summary.population} deployments, {failing} control failures")
    return summary


@dataclass(frozen=True)
class RenderExtras:
    """What `render` and `report` add to the findings beyond the verdicts."""

    responses_path: Path | None = None
    """--responses; None: AUDIT_RESPONSES, else ./responses.toml if present."""
    sample_size: int | None = None
    """--sample-size; None: no sample section."""
    sample_seed: str | None = None
    """--sample-seed; required with --sample-size."""

    def check(self):
        """The sample options, and the responses file's shape; returns the parsed file or None."""
        from audit.responses import load_responses, responses_path

        if (self.sample_size is None) != (self.sample_seed is None):
            raise UsageError("--sample-size and --sample-seed go together: give both or neither")
        path = responses_path(self.responses_path)
        return load_responses(path) if path is not None else None

    def findings_arguments(self, db, quarter: Period, settings: Settings, progress: Reporter) -> dict[str, Any]:
        """build_findings keyword arguments: matched responses and the sample request."""
        from audit.responses import apply_responses

        loaded = self.check()
        arguments: dict[str, Any] = {"sample_size": self.sample_size, "sample_seed": self.sample_seed}
        if loaded is not None:
            applied = apply_responses(loaded, db, quarter, settings.timezone)
            arguments.update(responses=applied.by_deployment, responses_file=applied.source)
            skipped = len(applied.other_quarters)
            progress.say(
                f"management responses: {applied.applied} exceptions answered from {loaded.path}"
                + (f", {skipped} entries for other quarters skipped" if skipped else "")
            )
        return arguments


SIGNATURE_FILES = ("SHA256SUMS", "SHA256SUMS.p7s", "report.html.p7s", "signer.pem")
"""What `sign` adds to a package; `render` removes them, since they would no longer match."""


def render(
    settings: Settings,
    quarter: Period,
    db_path: Path,
    output_dir: Path,
    *,
    organization: str | None = None,
    extras: RenderExtras = RenderExtras(),
    progress: Reporter | None = None,
    drawer: PdfDrawer | None = None,
) -> Path:
    """Write report.html, report.pdf (unsigned), population.csv, findings.json and evidence.db.

    `drawer`: a PDF process the caller forked earlier (`audit.render.pdf_drawer`); else one
    is forked first, so it imports WeasyPrint while the findings are built, and never holds them."""
    from audit.render import pdf_drawer

    with nullcontext(drawer) if drawer is not None else pdf_drawer() as forked:
        return _render(
            settings,
            quarter,
            db_path,
            output_dir,
            organization=organization,
            extras=extras,
            progress=progress,
            drawer=forked,
        )


def _render(
    settings: Settings,
    quarter: Period,
    db_path: Path,
    output_dir: Path,
    *,
    organization: str | None,
    extras: RenderExtras,
    progress: Reporter | None,
    drawer: PdfDrawer,
) -> Path:
    from audit.documents import check_findings
    from audit.findings import build_findings
    from audit.render import start_report
    from audit.store import open_store, snapshot

    progress = progress or Silent()
    db = open_store(db_path, create=False)
    if organization is None and settings.organization:
        organization = settings.organization
    if organization is None and is_demo(db, quarter):
        from audit.demo.organisation import DEMO_ORGANIZATION

        organization = DEMO_ORGANIZATION
    # Held in a list the render empties: once the files beside the PDF are written, nothing
    # holds the findings and they are freed while the PDF process finishes.
    held = [
        build_findings(
            db,
            quarter,
            settings,
            organization=organization,
            check=False,  # checked by `start_report`, once the PDF process has the PDF's HTML
            **extras.findings_arguments(db, quarter, settings, progress),
        )
    ]
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in SIGNATURE_FILES:
        (output_dir / stale).unlink(missing_ok=True)
    pending_pdf = start_report(
        held.pop(),
        output_dir,
        population_pdf_limit=settings.population_pdf_limit,
        drawer=drawer,
        check=check_findings,
    )
    snapshot(db, output_dir / "evidence.db")  # while the PDF process finishes the PDF
    pending_pdf.finish()
    progress.say(f"rendered {quarter}: {output_dir}")
    return output_dir


def sign(output_dir: Path, identity: SigningIdentity, *, progress: Reporter | None = None) -> None:
    """Sign the package: PAdES in report.pdf, detached CMS for report.html and SHA256SUMS."""
    from audit.signing import sign_package

    sign_package(output_dir, identity, tsa_url=os.environ.get("AUDIT_TSA_URL") or None)
    (progress or Silent()).say(f"signed by {identity.subject} (SHA-256 {identity.fingerprint_sha256[:16]}…)")


def report(
    settings: Settings,
    quarter: Period,
    db_path: Path,
    output_dir: Path,
    *,
    repos: Sequence[str] = (),
    extras: RenderExtras = RenderExtras(),
    max_wait: float = 900,
    progress: Reporter | None = None,
) -> Path:
    """Extract, evaluate, render and sign: the whole evidence package in `output_dir`."""
    from audit.render import pdf_drawer
    from audit.signing import load_identity

    progress = progress or Silent()
    extras.check()  # a malformed responses file fails before spending API requests
    # The PDF process forked before anything else: it imports WeasyPrint during the capture.
    with pdf_drawer() as drawer:
        with github_scope(settings, repos, progress) as scope:
            identity = load_identity(demo=scope.demo)  # fail before spending API requests
            extract(scope, settings, quarter, db_path, max_wait=max_wait, progress=progress)
        evaluate(settings, quarter, db_path, progress=progress)
        render(
            settings,
            quarter,
            db_path,
            output_dir,
            organization=scope.organization,
            extras=extras,
            progress=progress,
            drawer=_SigningReadied(drawer),
        )
    sign(output_dir, identity, progress=progress)
    progress.say(f"report: {output_dir / 'report.pdf'}")
    return output_dir


class _SigningReadied:
    """The PDF process of `report`, with the signing code imported while it draws.

    Once the other files are written, the report only waits for the PDF, then signs it:
    pyHanko's import (about 0.4 s) is done in that wait, not after it."""

    def __init__(self, drawer: PdfDrawer) -> None:
        self._drawer = drawer

    def lay_out(self, html_text: str, generated_at: str, destination: Path) -> None:
        self._drawer.lay_out(html_text, generated_at, destination)

    def attachment_written(self, name: str, path: Path) -> None:
        self._drawer.attachment_written(name, path)

    def finish(self) -> None:
        import audit.signing.package  # noqa: F401 - imported for `sign`, while the PDF is drawn

        self._drawer.finish()


def sign_unsigned(output_dir: Path, *, progress: Reporter | None = None) -> None:
    """Sign a package that `render` wrote, wherever the key is (`soc2-audit sign DIR`).

    The package's own findings.json says whether it is demo evidence, which alone may be
    signed with the demo key; production packages need AUDIT_SIGNING_KEY.
    """
    import json

    from audit.signing import load_identity
    from audit.signing.package import FINDINGS_JSON, REPORT_PDF

    if not (output_dir / REPORT_PDF).is_file():
        raise UsageError(f"{output_dir}: no {REPORT_PDF}; run `soc2-audit render` first")
    present = [name for name in SIGNATURE_FILES if (output_dir / name).exists()]
    if present:
        raise UsageError(f"{output_dir} is already signed ({', '.join(present)}): render it again to sign afresh")
    try:
        demo = bool(json.loads((output_dir / FINDINGS_JSON).read_text(encoding="utf-8")).get("demo"))
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"{output_dir}: no readable {FINDINGS_JSON}; run `soc2-audit render` first") from None
    sign(output_dir, load_identity(demo=demo), progress=progress)


def verify(
    path: Path,
    *,
    trust: Path | None = None,
    signer_fingerprint: str | None = None,
    period: str | None = None,
    at: datetime | None = None,
    revocation: str = "soft",
    tsa_trust: Path | None = None,
) -> VerificationReport:
    """Check every signature, hash and seal of a package (or one file of it), and who signed."""
    from audit.signing import verify_path

    if not path.exists():
        raise UsageError(f"{path} does not exist")
    return verify_path(
        path,
        trust=trust,
        signer_fingerprint=signer_fingerprint,
        period=period,
        at=at,
        revocation=revocation,
        tsa_trust=tsa_trust,
    )


def sample(
    settings: Settings,
    quarter: Period,
    db_path: Path,
    output_dir: Path,
    *,
    size: int,
    seed: str,
    progress: Reporter | None = None,
) -> tuple[Path, Path]:
    """Draw a reproducible auditor sample of evaluated deployments; returns (json, csv) paths."""
    from audit.sample import draw_sample, write_sample
    from audit.store import open_store

    db = open_store(db_path, create=False)
    if not db.execute("select 1 from evaluations where quarter = ?", [str(quarter)]).fetchone():
        raise UsageError(f"no evaluation stored for {quarter}: run `soc2-audit evaluate --quarter {quarter}`")
    drawn = draw_sample(db, quarter, settings, size=size, seed=seed)
    json_path, csv_path = write_sample(drawn, output_dir)
    (progress or Silent()).say(f"sampled {drawn['size']} of {drawn['population']} deployments: {csv_path}, {json_path}")
    return json_path, csv_path


def quarter_of(day: date | None = None, *, timezone: str = "UTC", previous: bool = False) -> Quarter:
    """The quarter containing `day` (default: today in `timezone`), or with `previous` the one before."""
    if day is None:
        zone = times.zone(timezone)
        if zone is None:
            raise UsageError(f"unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin")
        day = times.utc_now().astimezone(zone).date()
    found = Quarter.containing(day)
    return found.previous() if previous else found


def merge(target: Path, sources: Sequence[Path], *, progress: Reporter | None = None) -> MergeSummary:
    """Union evidence stores into `target`, without duplicates (rules in audit/merge.py)."""
    from audit.merge import merge_stores

    progress = progress or Silent()
    summary = merge_stores(target, list(sources))
    inserted, replaced = sum(summary.inserted.values()), sum(summary.replaced.values())
    progress.say(
        f"merged {len(sources)} stores into {target}: {summary.extractions} extractions, "
        f"{inserted} rows added, {replaced} rows replaced by a fuller or newer capture"
    )
    if summary.invalidated_quarters:
        quarters = ", ".join(summary.invalidated_quarters)
        progress.say(f"evaluations of {quarters} removed: run `soc2-audit evaluate` again")
    return summary


def summary(findings_path: Path, *, limit: int = 20) -> str:
    """findings.json as Markdown: verdict counts per control, then the exceptions."""
    from audit.summary import load_findings, markdown_summary

    return markdown_summary(load_findings(findings_path), limit=limit)
