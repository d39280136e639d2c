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
from datetime import date
from pathlib import Path

import click

from audit import __version__, pipeline
from audit.config import load_settings, validate_repository
from audit.errors import AuditError, UsageError
from audit.period import Period
from audit.progress import Reporter


def _period(ctx, param, value):
    return Period.parse(value) if value is not None else None


def _repos(ctx, param, value):
    return tuple(validate_repository(v) for v in value)


quarter_option = click.option(
    "--period",
    "--quarter",
    "-q",
    "quarter",
    required=True,
    callback=_period,
    metavar="PERIOD",
    help="Audit period: 2024Q2, 2024H1, 2024 or 2024-01-01..2024-12-31 (inclusive days); --quarter is a synonym.",
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
    help="Output directory [default: output/<PERIOD>].",
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
    with pipeline.github_scope(settings, repos, _reporter()) as scope:
        pipeline.extract(scope, settings, quarter, db_path, max_wait=max_wait, progress=_reporter())


@cli.command()
@repo_option
def doctor(repos):
    """Check the token before a long run: probe each endpoint the capture needs, once per
    repository, and print one table of what GitHub refused and which permission is missing.

    Exits 1 when a permission is missing.

    Example:

        soc2-audit doctor --repo acme/payments-api
    """
    from audit.extract.doctor import PermissionsMissing, missing_permissions, table

    settings = load_settings()
    with pipeline.github_scope(settings, repos, _reporter()) as scope:
        probes = pipeline.doctor(scope, progress=_reporter())
    click.echo(table(probes))
    missing = missing_permissions(probes)
    if missing:
        raise PermissionsMissing(f"the token lacks {', '.join(missing)}: grant it and run `soc2-audit doctor` again")
    click.echo("every endpoint the capture needs answered")


@cli.command()
@quarter_option
@db_option
def evaluate(quarter, db_path):
    """Compute every control's verdict for each deployment of the quarter.

    Example:

        soc2-audit evaluate --quarter 2024Q2
    """
    pipeline.evaluate(load_settings(), quarter, db_path, progress=_reporter())


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
    pipeline.render(
        load_settings(),
        quarter,
        db_path,
        output_dir or pipeline.default_output_dir(quarter),
        extras=pipeline.RenderExtras(responses_path, sample_size, sample_seed),
        progress=_reporter(),
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
    pipeline.report(
        load_settings(),
        quarter,
        db_path,
        output_dir or pipeline.default_output_dir(quarter),
        repos=repos,
        extras=pipeline.RenderExtras(responses_path, sample_size, sample_seed),
        max_wait=max_wait,
        progress=_reporter(),
    )


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    metavar="CA.pem",
    help="Your organisation's document-signing CA (PEM), obtained out of band; never signer.pem.",
)
@click.option(
    "--signer-fingerprint",
    default=None,
    metavar="SHA256",
    help="SHA-256 of the signing certificate, obtained out of band (colons and case ignored).",
)
@click.option("--period", default=None, metavar="P", help="The period the package must cover, e.g. 2024Q2.")
@click.option(
    "--at",
    "at",
    default=None,
    metavar="DATE",
    help="Validate as of this date (YYYY-MM-DD or ISO 8601; UTC unless an offset is given) [default: now].",
)
@click.option(
    "--revocation",
    type=click.Choice(["soft", "hard"]),
    default="soft",
    show_default=True,
    help="hard: fetch the CRL/OCSP the certificates name, and fail without a revocation status.",
)
@click.option(
    "--tsa-trust",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    metavar="TSA-CA.pem",
    help="CA of a timestamp authority you trust: its timestamps vouch for certificates that expired since.",
)
def verify(path, trust, signer_fingerprint, period, at, revocation, tsa_trust):
    """Check every signature, hash and seal, and who signed.

    Exit status: 0 verified (intact, signed by the pinned anchor); 1 altered, unreadable
    or signed by someone else; 2 wrong arguments or no such path; 3 intact, but no
    --trust or --signer-fingerprint was given, so who signed is not established.

    Example:

        soc2-audit verify output/2024Q2 --trust acme-document-ca.pem --period 2024Q2
    """
    from audit.signing.verify import describe_scope

    result = pipeline.verify(
        path,
        trust=trust,
        signer_fingerprint=signer_fingerprint,
        period=period,
        at=_moment(at),
        revocation=revocation,
        tsa_trust=tsa_trust,
    )
    for check in result.checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.message}")
    for line in describe_scope(result.scope):
        click.echo(line)
    if result.signer:
        click.echo(f"signer: {result.signer}")
    if result.fingerprint_sha256:
        click.echo(f"certificate SHA-256: {result.fingerprint_sha256}")
    if result.signed_at:
        click.echo(f"signed at: {result.signed_at.isoformat()}")
    if result.exit_code == 0:
        click.echo(f"verified: every signature, hash and seal holds, signed by {result.anchor}")
    elif result.exit_code == 3:
        click.echo(
            "NOT PINNED: integrity holds, but nothing pins the signer: compare certificate SHA-256 "
            f"{result.fingerprint_sha256} out of band, then pass --signer-fingerprint or --trust CA.pem"
        )
    else:
        click.echo("NOT VERIFIED: see FAIL lines above")
    sys.exit(result.exit_code)


def _moment(value: str | None):
    """--at as an aware datetime: a date means its end (23:59:59 UTC), naive times are UTC."""
    if value is None:
        return None
    from datetime import UTC, datetime, time

    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def sign(directory):
    """Sign an unsigned package written by `render`, so the key never needs to be where extraction runs.

    The key comes from AUDIT_SIGNING_KEY (PKCS#12) and AUDIT_SIGNING_KEY_PASSWORD; demo
    packages are signed with the demo key. With AUDIT_TSA_URL every signature is timestamped
    (RFC 3161) and the PDF is PAdES B-LTA.

    Example:

        soc2-audit sign output/2024Q2
    """
    pipeline.sign_unsigned(directory, progress=_reporter())


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
    pipeline.sample(
        load_settings(),
        quarter,
        db_path,
        output_dir or pipeline.default_output_dir(quarter),
        size=size,
        seed=seed,
        progress=_reporter(),
    )


@cli.command(name="quarter")
@click.option("--previous", is_flag=True, help="Print the quarter before the one containing the date.")
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD", help="The date [default: today].")
@click.option(
    "--timezone",
    default=None,
    help="Time zone in which 'today' is taken [default: audit.toml's timezone, else UTC].",
)
def quarter_command(previous, day, timezone):
    """Print the quarter containing a date (default today), or with --previous the one before.

    The scheduled quarterly workflow runs early in January, April, July and October and
    reports on the quarter that just ended.

    Example:

        soc2-audit quarter --previous --date 2025-01-02    # prints 2024Q4
    """
    if day is not None:
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise UsageError(f"invalid date {day!r}: expected YYYY-MM-DD, e.g. 2025-01-02") from None
    if day is None and timezone is None:
        timezone = load_settings().timezone
    click.echo(str(pipeline.quarter_of(day, timezone=timezone or "UTC", previous=previous)))


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
    pipeline.merge(target, sources, progress=_reporter())


@cli.command()
@click.argument("findings_path", metavar="FINDINGS_JSON", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Exceptions per control.")
def summary(findings_path, limit):
    """Print findings.json as Markdown: verdict counts per control, then the exceptions.

    Made for a GitHub Actions job summary (append it to $GITHUB_STEP_SUMMARY).

    Example:

        soc2-audit summary output/2024Q2/findings.json >> "$GITHUB_STEP_SUMMARY"
    """
    click.echo(pipeline.summary(findings_path, limit=limit))


@functools.cache
def _reporter() -> Reporter:
    """Progress for people on stderr: coloured on a terminal, plain lines in CI logs."""
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
    except Exception as error:
        github = sys.modules.get("github")  # imported only by commands that talk to GitHub
        if github is not None and isinstance(error, github.GithubException):
            from audit.extract.client import github_message

            click.echo(f"soc2-audit: error: GitHub answered HTTP {error.status}: {github_message(error)}", err=True)
            sys.exit(1)
        # a bug: one line, the traceback only on request
        if os.environ.get("SOC2_AUDIT_DEBUG"):
            raise
        click.echo(
            f"soc2-audit: internal error: {type(error).__name__}: {error} (set SOC2_AUDIT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)
