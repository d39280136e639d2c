"""A short Markdown summary of `findings.json`, for a GitHub Actions job summary.

The scheduled quarterly job appends it to `$GITHUB_STEP_SUMMARY`: the verdict counts per
control, then the exceptions (verdicts an auditor must follow up), each naming its run.
It only re-arranges what `evaluate` decided. GitHub caps a step summary at 1 MiB, so the
exceptions are cut to `limit` per control; the signed report holds them all.
"""

from __future__ import annotations

import json
from pathlib import Path

from audit.errors import UsageError
from audit.render.view import EXCEPTION_VERDICTS, VERDICT_ORDER


def load_findings(path: Path) -> dict:
    """Read findings.json, or one clear `UsageError`."""
    path = Path(path)
    if path.is_dir():
        path = path / "findings.json"
    try:
        findings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: run `soc2-audit render` first") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} is not a findings.json ({error})") from None
    if not isinstance(findings, dict) or not {"quarter", "controls", "deployments"} <= findings.keys():
        raise UsageError(f"{path} is not a findings.json (no quarter, controls and deployments)")
    return findings


def markdown_summary(findings: dict, *, limit: int = 20) -> str:
    """The job summary: a heading, the counts table and up to `limit` exceptions per control."""
    period = findings.get("period") or {}
    lines = [f"## SOC 2 evidence {findings['quarter']}", ""]
    if findings.get("demo"):
        lines += ["**DEMO data: built-in demo organisation, not real evidence.**", ""]
    lines += [
        f"{len(findings['deployments'])} production deployments, "
        f"{period.get('start', '?')} to {period.get('end', '?')} ({period.get('timezone') or 'UTC'}).",
        "",
        "| control | " + " | ".join(VERDICT_ORDER) + " |",
        "|---|" + "---:|" * len(VERDICT_ORDER),
    ]
    for control in findings["controls"]:
        counts = control.get("counts") or {}
        lines.append(f"| `{control['id']}` | " + " | ".join(str(counts.get(v, 0)) for v in VERDICT_ORDER) + " |")
    lines += ["", "### Exceptions", ""]
    any_exception = False
    for control in findings["controls"]:
        entries = [
            (deployment, deployment["controls"][control["id"]])
            for deployment in findings["deployments"]
            if deployment["controls"].get(control["id"], {}).get("verdict") in EXCEPTION_VERDICTS
        ]
        if not entries:
            continue
        any_exception = True
        lines.append(f"**`{control['id']}`** ({len(entries)})")
        lines.append("")
        for deployment, result in entries[:limit]:
            lines.append(
                f"- {_cell(deployment['repository'])} run {deployment['run_id']} "
                f"({_cell(deployment['environment'])}): {result['verdict']}: {_cell(result.get('detail') or '')}"
            )
        if len(entries) > limit:
            lines.append(f"- … and {len(entries) - limit} more in report.html and population.csv")
        lines.append("")
    if not any_exception:
        lines += ["No exceptions noted.", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text that cannot break the Markdown around it (details quote branch and user names)."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
