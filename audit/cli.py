"""The `soc2-audit` command line: thin wrappers that parse arguments and call the pipeline.

Every error a person can cause (a bad quarter, a malformed repository name, a missing
key, an unknown repository, a token GitHub refuses or that lacks a scope) ends as one line
on stderr and exit code 2; evidence that fails verification exits 1, and so does an
extraction GitHub cannot serve (failing through every retry, or asking for a wait beyond
`--max-wait`): one line, and the evidence captured so far is kept.
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from github import GithubException

from audit import __version__
from audit.config import Environment, Settings, load_settings, validate_repository
from audit.errors import AuditError, UsageError
from audit.quarter import Quarter


@dataclass(frozen=True)
class Scope:
    """Where to extract from: the API, the repositories, and whether this is the demo."""

    api_url: str
    token: str | None
    repositories: tuple[str, ...]
    organization: str | None
    demo: bool


def _quarter(ctx, param, value):
    return Quarter.parse(value) if value is not None else None


def _repos(ctx, param, value):
    return tuple(validate_repository(v) for v in value)


quarter_option = click.option(
    "--quarter", "-q", required=True, callback=_quarter, metavar="YYYYQn", help="Calendar quarter, e.g. 2024Q2."
)
db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    envvar="AUDIT_DB",
    default="output/evidence.db",
    show_default=True,
    help="The evidence store (env AUDIT_DB); it accumulates across quarters.",
)
repo_option = click.option(
    "--repo",
    "repos",
    multiple=True,
    callback=_repos,
    metavar="OWNER/NAME",
    help="Repository in scope (repeatable); else AUDIT_REPOS or audit.toml.",
)
output_option = click.option(
    "--output",
    "output_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory [default: output/<QUARTER>].",
)

responses_option = click.option(
    "--responses",
    "responses_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Management responses TOML (env AUDIT_RESPONSES) [default: responses.toml if present].",
)
sample_size_option = click.option(
    "--sample-size", type=click.IntRange(min=1), default=None, help="Add an auditor sample of N deployments."
)
sample_seed_option = click.option("--sample-seed", default=None, help="Seed of the auditor sample (--sample-size).")
max_wait_option = click.option(
    "--max-wait",
    type=click.FloatRange(min=0),
    default=900,
    show_default=True,
    metavar="SECONDS",
    help="Longest total wait for one GitHub request (retry-after, rate-limit reset); "
    "a longer wait stops the run (exit 1), keeping what was captured.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="soc2-audit")
def cli():
    """Turn a quarter of GitHub Actions production deployments into signed SOC 2 evidence.

    With no GITHUB_TOKEN and no repositories configured, every command runs on the
    built-in demo organisation, served by a fake GitHub on 127.0.0.1.

    Example:

        soc2-audit report --quarter 2024Q2
    """


@cli.command()
@quarter_option
@repo_option
@db_option
@max_wait_option
def extract(quarter, repos, db_path, max_wait):
    """Capture the quarter's evidence from GitHub into the store (incremental).

    Example:

        soc2-audit extract --quarter 2024Q2 --repo acme/payments-api
    """
    settings = load_settings()
    with _scope(settings, repos) as scope:
        _extract(scope, settings, quarter, db_path, max_wait=max_wait)


@cli.command()
@quarter_option
@db_option
def evaluate(quarter, db_path):
    """Compute every control's verdict for each deployment of the quarter.

    Example:

        soc2-audit evaluate --quarter 2024Q2
    """
    _evaluate(load_settings(), quarter, db_path)


@cli.command()
@quarter_option
@db_option
@output_option
@responses_option
@sample_size_option
@sample_seed_option
def render(quarter, db_path, output_dir, responses_path, sample_size, sample_seed):
    """Write report.html, report.pdf (unsigned), population.csv and findings.json.

    Example:

        soc2-audit render --quarter 2024Q2 --output /tmp/2024Q2 --responses responses.toml
    """
    _render(
        load_settings(),
        quarter,
        db_path,
        output_dir or Path("output") / str(quarter),
        extras=_RenderExtras(responses_path, sample_size, sample_seed),
    )


@cli.command()
@quarter_option
@repo_option
@db_option
@output_option
@responses_option
@sample_size_option
@sample_seed_option
@max_wait_option
def report(quarter, repos, db_path, output_dir, responses_path, sample_size, sample_seed, max_wait):
    """Extract, evaluate, render and sign: the whole evidence package.

    Example:

        soc2-audit report --quarter 2024Q2 --sample-size 25 --sample-seed 20240701
    """
    from audit.signing import load_identity, sign_package

    settings = load_settings()
    extras = _RenderExtras(responses_path, sample_size, sample_seed)
    extras.check()  # a malformed responses file fails before spending API requests
    output_dir = output_dir or Path("output") / str(quarter)
    with _scope(settings, repos) as scope:
        identity = load_identity(demo=scope.demo)  # fail before spending API requests
        _extract(scope, settings, quarter, db_path, max_wait=max_wait)
    _evaluate(settings, quarter, db_path)
    _render(settings, quarter, db_path, output_dir, organization=scope.organization, extras=extras)
    sign_package(output_dir, identity, tsa_url=os.environ.get("AUDIT_TSA_URL") or None)
    _say(f"signed by {identity.subject} (SHA-256 {identity.fingerprint_sha256[:16]}…)")
    _say(f"report: {output_dir / 'report.pdf'}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="PEM file of the root CA the signer must chain to.",
)
def verify(path, trust):
    """Check every signature and hash; exit 0 when intact, 1 when anything was altered.

    Example:

        soc2-audit verify output/2024Q2
    """
    from audit.signing import verify_path

    if not path.exists():
        raise UsageError(f"{path} does not exist")
    result = verify_path(path, trust=trust)
    for check in result.checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.message}")
    if result.signer:
        click.echo(f"signer: {result.signer}")
    if result.fingerprint_sha256:
        click.echo(f"certificate SHA-256: {result.fingerprint_sha256}")
    if result.signed_at:
        click.echo(f"signed at: {result.signed_at.isoformat()}")
    click.echo("verified: every signature and hash holds" if result.ok else "NOT VERIFIED: see FAIL lines above")
    sys.exit(0 if result.ok else 1)


@cli.command()
@quarter_option
@click.option("--size", "-n", type=click.IntRange(min=1), required=True, help="Deployments to draw.")
@click.option("--seed", "-s", required=True, help="Any text; the same seed always gives the same sample.")
@db_option
@output_option
def sample(quarter, size, seed, db_path, output_dir):
    """Draw a reproducible auditor sample and write each sampled deployment's evidence.

    The sample is the SIZE deployments with the smallest
    sha256("<seed>:<repository>:<run_id>:<environment>"), so an auditor can re-draw it.

    Example:

        soc2-audit sample --quarter 2024Q2 --size 25 --seed 20240701
    """
    from audit.sample import draw_sample, write_sample
    from audit.store import open_store

    db = open_store(db_path, create=False)
    if not db.execute("select 1 from evaluations where quarter = ?", [str(quarter)]).fetchone():
        raise UsageError(f"no evaluation stored for {quarter}: run `soc2-audit evaluate --quarter {quarter}`")
    drawn = draw_sample(db, quarter, load_settings(), size=size, seed=seed)
    json_path, csv_path = write_sample(drawn, output_dir or Path("output") / str(quarter))
    _say(f"sampled {drawn['size']} of {drawn['population']} deployments: {csv_path}, {json_path}")


@cli.command(name="quarter")
@click.option("--previous", is_flag=True, help="Print the quarter before the one containing the date.")
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD", help="The date [default: today].")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone in which 'today' is taken.")
def quarter_command(previous, day, timezone):
    """Print the quarter containing a date (default today), or with --previous the one before.

    The scheduled quarterly workflow runs early in January, April, July and October and
    reports on the quarter that just ended.

    Example:

        soc2-audit quarter --previous --date 2025-01-02    # prints 2024Q4
    """
    from datetime import date, datetime

    from dateutil import tz

    if day is None:
        zone = tz.gettz(timezone)
        if zone is None:
            raise UsageError(f"unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin")
        today = datetime.now(zone).date()
    else:
        try:
            today = date.fromisoformat(day)
        except ValueError:
            raise UsageError(f"invalid date {day!r}: expected YYYY-MM-DD, e.g. 2025-01-02") from None
    found = Quarter.containing(today)
    click.echo(str(found.previous() if previous else found))


@cli.command()
@click.option(
    "--into",
    "--db",
    "target",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="AUDIT_DB",
    default="output/evidence.db",
    show_default=True,
    help="The store to merge into (env AUDIT_DB); created if missing.",
)
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
def merge(target, sources):
    """Union evidence stores (e.g. one per matrix shard) into one, without duplicates.

    Rows are matched by primary key; captured evidence is never replaced by an emptier
    row, extractions are renumbered and traced in `merged_extractions`, and merging the
    same store twice changes nothing. See audit/merge.py for the rule per table.

    Example:

        soc2-audit merge --into evidence.db shards/*/shard.db
    """
    from audit.merge import merge_stores

    summary = merge_stores(target, list(sources))
    inserted, replaced = sum(summary.inserted.values()), sum(summary.replaced.values())
    _say(
        f"merged {len(sources)} stores into {target}: {summary.extractions} extractions, "
        f"{inserted} rows added, {replaced} rows replaced by a fuller or newer capture"
    )
    if summary.invalidated_quarters:
        _say(f"evaluations of {', '.join(summary.invalidated_quarters)} removed: run `soc2-audit evaluate` again")


@cli.command()
@click.argument("findings_path", metavar="FINDINGS_JSON", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Exceptions per control.")
def summary(findings_path, limit):
    """Print findings.json as Markdown: verdict counts per control, then the exceptions.

    Made for a GitHub Actions job summary (append it to $GITHUB_STEP_SUMMARY).

    Example:

        soc2-audit summary output/2024Q2/findings.json >> "$GITHUB_STEP_SUMMARY"
    """
    from audit.summary import load_findings, markdown_summary

    click.echo(markdown_summary(load_findings(findings_path), limit=limit))


# -- the stages -----------------------------------------------------------------------------


@contextmanager
def _scope(settings: Settings, repos: tuple[str, ...]):
    """Resolve the repositories and API; in demo mode, serve the demo organisation meanwhile."""
    environment = Environment.from_os()
    repositories = repos or environment.repositories or settings.repositories
    if environment.token is None and not repositories and not settings.organization:
        from audit.demo.organisation import DEMO_ORGANIZATION, start_demo_server

        _say(
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
    yield Scope(environment.api_url, environment.token, tuple(repositories), settings.organization, False)


def _extract(scope: Scope, settings: Settings, quarter: Quarter, db_path: Path, *, max_wait: float) -> None:
    from audit.store import writer_lock

    with writer_lock(db_path):  # one extraction per store at a time
        _extract_locked(scope, settings, quarter, db_path, max_wait)


def _extract_locked(scope: Scope, settings: Settings, quarter: Quarter, db_path: Path, max_wait: float) -> None:
    from audit.extract import Extractor, GitHubClient
    from audit.store import open_store

    db = open_store(db_path)
    loopback = scope.api_url.startswith(("http://127.0.0.1", "http://localhost"))
    client = GitHubClient(
        scope.api_url, scope.token, throttle=None if loopback else 0.25, max_wait=max_wait, on_wait=_say_wait
    )
    try:
        summary = Extractor(db, client, settings, quarter, demo=scope.demo, progress=_reporter()).run(
            list(scope.repositories), organization=scope.organization
        )
    finally:
        client.close()
    _say(
        f"extracted {quarter}: {summary.production_deployments} production deployments, "
        f"{summary.runs_listed} runs listed in {len(summary.windows)} windows, "
        f"{summary.runs_captured} runs captured, {summary.requests} API requests"
    )
    counter = client.counter
    if counter.retries:
        _say(f"{counter.retries} requests retried after faults or rate limits, {counter.waited:.0f} s waited")


def _evaluate(settings: Settings, quarter: Quarter, db_path: Path) -> None:
    from audit.evaluate import evaluate_quarter
    from audit.store import open_store

    db = open_store(db_path, create=False)
    demo = bool(db.execute("select max(demo) from extractions where quarter = ?", [str(quarter)]).fetchone()[0])
    summary = evaluate_quarter(db, quarter, settings, demo=demo)
    failing = sum(counts.get("fail", 0) for counts in summary.counts.values())
    _say(f"evaluated {quarter}: {summary.population} deployments, {failing} control failures")


@dataclass(frozen=True)
class _RenderExtras:
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

    def findings_arguments(self, db, quarter: Quarter, settings: Settings) -> dict:
        """build_findings keyword arguments: matched responses and the sample request."""
        from audit.responses import apply_responses

        loaded = self.check()
        arguments = {"sample_size": self.sample_size, "sample_seed": self.sample_seed}
        if loaded is not None:
            applied = apply_responses(loaded, db, quarter, settings.timezone)
            arguments.update(responses=applied.by_deployment, responses_file=applied.source)
            skipped = len(applied.other_quarters)
            _say(
                f"management responses: {applied.applied} exceptions answered from {loaded.path}"
                + (f", {skipped} entries for other quarters skipped" if skipped else "")
            )
        return arguments


def _render(
    settings: Settings,
    quarter: Quarter,
    db_path: Path,
    output_dir: Path,
    organization: str | None = None,
    extras: _RenderExtras = _RenderExtras(),
) -> None:
    from audit.findings import build_findings
    from audit.render import write_report
    from audit.store import open_store, snapshot

    db = open_store(db_path, create=False)
    if organization is None and settings.organization:
        organization = settings.organization
    if organization is None and _is_demo(db, quarter):
        from audit.demo.organisation import DEMO_ORGANIZATION

        organization = DEMO_ORGANIZATION
    findings = build_findings(
        db, quarter, settings, organization=organization, **extras.findings_arguments(db, quarter, settings)
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("SHA256SUMS", "SHA256SUMS.p7s", "report.html.p7s", "signer.pem"):
        (output_dir / stale).unlink(missing_ok=True)
    write_report(findings, output_dir, population_pdf_limit=settings.population_pdf_limit)
    snapshot(db, output_dir / "evidence.db")
    _say(f"rendered {quarter}: {output_dir}")


def _is_demo(db, quarter: Quarter) -> bool:
    row = db.execute("select demo from evaluations where quarter = ?", [str(quarter)]).fetchone()
    return bool(row and row[0])


def _say(message: str, style: str | None = None) -> None:
    """Progress for people: coloured on a terminal, plain lines in CI logs."""
    _reporter().say(message, style=style)


def _say_wait(message: str) -> None:
    """A retry wait: one line, never wrapped at the console width, so CI logs can be grepped."""
    _reporter().console.print(message, markup=False, soft_wrap=True)


@functools.cache
def _reporter():
    from audit.progress import Reporter

    return Reporter()


def main(argv: list[str] | None = None) -> None:
    """Entry point: every anticipated error is one line on stderr, never a traceback."""
    try:
        cli.main(args=argv, prog_name="soc2-audit", standalone_mode=False)
    except AuditError as error:
        click.echo(f"soc2-audit: error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("soc2-audit: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        click.echo(f"soc2-audit: error: {error.format_message()}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except GithubException as error:
        click.echo(f"soc2-audit: error: GitHub answered HTTP {error.status}: {_github_message(error)}", err=True)
        sys.exit(1)
    except Exception as error:  # a bug: one line, the traceback only on request
        if os.environ.get("SOC2_AUDIT_DEBUG"):
            raise
        click.echo(
            f"soc2-audit: internal error: {type(error).__name__}: {error} (set SOC2_AUDIT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


def _github_message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    return str(data.get("message") or "no message")
