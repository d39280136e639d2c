"""What the templates show, derived from one findings dict: no verdict is computed here.

The report only re-arranges what the evaluate stage decided: counts per verdict become a
conclusion sentence, failing verdicts are grouped by control, timestamps are shown in the
report's time zone, and chart geometry (bar positions and heights, in SVG user units) is
computed here so the SVG templates only draw. Long lists are cut to a limit for the PDF;
each cut list says how many rows it holds in total so the template can point to the HTML
and the attached CSV for the rest.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from audit import reperform, times

VERDICT_ORDER = ("pass", "fail", "not_available", "error", "not_applicable")
"""Order of verdicts in tables, legends and stacked bars."""

EXCEPTION_VERDICTS = ("fail", "not_available", "error")
"""Verdicts listed among a control's exceptions (anything an auditor must follow up)."""


@dataclass(frozen=True)
class Limited:
    """A list cut to a limit for the PDF: `rows` shown, out of `total`."""

    rows: list
    """The rows shown."""
    total: int
    """How many rows exist (the HTML and the CSV hold them all)."""

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.total


def limited(rows: list, limit: int | None) -> Limited:
    """`rows` cut to `limit` (None: no limit)."""
    return Limited(rows if limit is None else rows[:limit], len(rows))


def report_zone(findings: dict) -> tzinfo:
    """The time zone the quarter was taken in (UTC when unknown): the report shows times in it."""
    return times.zone(findings["period"].get("timezone") or "UTC") or UTC


def local_time(value: str | None, zone: tzinfo, *, seconds: bool = False) -> str:
    """An ISO timestamp shown as "2024-04-03 14:22" in `zone`; "" for None; a plain date as is."""
    if not value:
        return ""
    if len(value) == len("2024-04-03"):  # a date (a management response's recorded_at) has no zone
        return value
    moment = datetime.fromisoformat(value).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def safe_url(value: str | None) -> str | None:
    """`value` when it is an https link (run pages on GitHub), else None: no javascript: links."""
    if isinstance(value, str) and value.lower().startswith("https://"):
        return value
    return None


def _nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1), for axis maxima."""
    if value <= 1:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exponent:
            return int(step * exponent)
    return int(10 * exponent)


def _axis(maximum: int, height: float) -> dict:
    top = _nice_ceiling(maximum)
    step = top // 5 if top >= 5 and top % 5 == 0 else top // 4 if top % 4 == 0 else 1
    ticks = []
    value = 0.0
    while value <= top + 1e-9:
        ticks.append({"value": f"{value:g}", "y": round(height - value / top * height, 2)})
        value += step
    return {"top": top, "ticks": ticks}


def weekly_chart(findings: dict, zone: tzinfo) -> dict:
    """Deployments per ISO week of the quarter (weeks cut by the period boundaries included)."""
    start = datetime.fromisoformat(findings["period"]["start"]).astimezone(zone)
    end = datetime.fromisoformat(findings["period"]["end"]).astimezone(zone)
    weeks: list[tuple[int, int]] = []
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=zone) < end:
        key = day.isocalendar()[:2]
        if not weeks or weeks[-1] != key:
            weeks.append(key)
        day += timedelta(days=1)
    counts = Counter(
        datetime.fromisoformat(d["created_at"]).astimezone(zone).isocalendar()[:2] for d in findings["deployments"]
    )
    height, width = 150.0, 600.0
    axis = _axis(max((counts[w] for w in weeks), default=0), height)
    slot = width / max(len(weeks), 1)
    bars = []
    for index, week in enumerate(weeks):
        bar_height = counts[week] / axis["top"] * height
        bars.append(
            {
                "label": f"W{week[1]:02d}",
                "count": counts[week],
                "x": round(index * slot + slot * 0.15, 2),
                "width": round(slot * 0.7, 2),
                "y": round(height - bar_height, 2),
                "height": round(bar_height, 2),
                "center": round(index * slot + slot / 2, 2),
            }
        )
    return {"bars": bars, "axis": axis, "width": width, "height": height}


def verdict_chart(findings: dict) -> dict:
    """One bar per control, split by verdict in proportion to the counts (100 % wide)."""
    width = 420.0
    rows = []
    for index, control in enumerate(findings["controls"]):
        counts = control["counts"]
        total = sum(counts.get(v, 0) for v in VERDICT_ORDER)
        segments, x = [], 0.0
        for verdict in VERDICT_ORDER:
            share = counts.get(verdict, 0) / total * width if total else 0.0
            if share:
                segments.append(
                    {"verdict": verdict, "x": round(x, 2), "width": round(share, 2), "count": counts[verdict]}
                )
            x += share
        rows.append(
            {"id": control["id"], "y": index * 22, "segments": segments, "fail": counts.get("fail", 0), "total": total}
        )
    return {"rows": rows, "width": width, "height": len(rows) * 22}


def _quarter_of(moment: datetime) -> str:
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def trend_chart(findings: dict, zone: tzinfo) -> dict:
    """Per control, one 100 % bar per calendar quarter of the period (verdict shares), so an
    auditor sees at a glance whether exceptions cluster in time. Quarters are taken in the
    report's time zone, like the period; a quarter the period only partly covers is marked."""
    start = datetime.fromisoformat(findings["period"]["start"]).astimezone(zone)
    end = datetime.fromisoformat(findings["period"]["end"]).astimezone(zone)
    quarters: list[dict] = []
    moment = datetime(start.year, 3 * ((start.month - 1) // 3) + 1, 1, tzinfo=zone)
    while moment < end:
        following = datetime(moment.year + (moment.month == 10), (moment.month + 2) % 12 + 1, 1, tzinfo=zone)
        quarters.append({"label": _quarter_of(moment), "partial": moment < start or following > end})
        moment = following
    by_quarter: dict[str, list[dict]] = {q["label"]: [] for q in quarters}
    for deployment in findings["deployments"]:
        label = _quarter_of(datetime.fromisoformat(deployment["created_at"]).astimezone(zone))
        by_quarter.setdefault(label, []).append(deployment)
    label_width, cell_gap, area = 150.0, 8.0, 440.0
    cell = (area - cell_gap * (len(quarters) - 1)) / max(len(quarters), 1)
    bar = cell - 26  # the rest of the cell holds the number of failures
    for index, quarter in enumerate(quarters):
        quarter["x"] = round(index * (cell + cell_gap), 2)
        quarter["center"] = round(quarter["x"] + cell / 2, 2)
        quarter["population"] = len(by_quarter[quarter["label"]])
    rows = []
    for row_index, control in enumerate(findings["controls"]):
        cells = []
        for quarter in quarters:
            counts = Counter(d["controls"].get(control["id"], {}).get("verdict") for d in by_quarter[quarter["label"]])
            total = sum(counts.get(v, 0) for v in VERDICT_ORDER)
            segments, x = [], quarter["x"]
            for verdict in VERDICT_ORDER:
                share = counts.get(verdict, 0) / total * bar if total else 0.0
                if share:
                    segments.append({"verdict": verdict, "x": round(x, 2), "width": round(share, 2)})
                x += share
            cells.append({"x": quarter["x"], "segments": segments, "fail": counts.get("fail", 0), "total": total})
        rows.append({"id": control["id"], "y": 16 + row_index * 20, "cells": cells})
    return {
        "quarters": quarters,
        "rows": rows,
        "cell": round(cell, 2),
        "bar": round(bar, 2),
        "width": area,
        "label_width": label_width,
        "height": 16 + len(rows) * 20,
    }


def latency_chart(findings: dict) -> dict:
    """Histogram of approval latency (approval − request) in minutes, by fixed bins."""
    window = int(findings["settings"].get("approval_window_minutes") or 120)
    edges = sorted({0, 5, 15, 30, 60, window, 2 * window, 8 * window})
    minutes = []
    for d in findings["deployments"]:
        if d.get("approval_requested_at") and d.get("approved_at"):
            delta = datetime.fromisoformat(d["approved_at"]) - datetime.fromisoformat(d["approval_requested_at"])
            minutes.append(delta.total_seconds() / 60)
    bins: list[dict[str, Any]] = []
    for low, high in zip(edges, [*edges[1:], None], strict=True):
        count = sum(1 for m in minutes if m > low and (high is None or m <= high)) + (
            sum(1 for m in minutes if m <= 0) if low == 0 else 0
        )
        label = f"> {low}" if high is None else f"{low}–{high}"
        bins.append({"label": label, "count": count, "late": high is None or high > window})
    height, width = 150.0, 600.0
    axis = _axis(max((b["count"] for b in bins), default=0), height)
    slot = width / len(bins)
    for index, item in enumerate(bins):
        bar_height = item["count"] / axis["top"] * height
        item.update(
            {
                "x": round(index * slot + slot * 0.1, 2),
                "width": round(slot * 0.8, 2),
                "y": round(height - bar_height, 2),
                "height": round(bar_height, 2),
                "center": round(index * slot + slot / 2, 2),
            }
        )
    median = sorted(minutes)[len(minutes) // 2] if minutes else None
    return {
        "bins": bins,
        "axis": axis,
        "width": width,
        "height": height,
        "window": window,
        "measured": len(minutes),
        "median": None if median is None else round(median),
    }


def control_rows(findings: dict) -> list[dict]:
    """The control matrix: each control with its population tested and its conclusions."""
    rows = []
    for control in findings["controls"]:
        counts = {verdict: control["counts"].get(verdict, 0) for verdict in VERDICT_ORDER}
        conclusions = []
        if counts["fail"]:
            conclusions.append(("fail", f"Exceptions noted ({counts['fail']})"))
        if counts["not_available"]:
            conclusions.append(("not_available", f"Evidence not available ({counts['not_available']})"))
        if counts["error"]:
            conclusions.append(("error", f"Not evaluated: errors ({counts['error']})"))
        if not conclusions:
            conclusions.append(("pass", "No exceptions noted"))
        rows.append(
            {
                "control": control,
                "counts": counts,
                "conclusions": conclusions,
                "tested": sum(counts.values()) - counts["not_applicable"],
            }
        )
    return rows


VERDICT_SYMBOLS = {"pass": "✓", "fail": "✗", "not_available": "?", "error": "!", "not_applicable": "–"}
"""The text symbol of each verdict: every verdict shown in colour also carries its symbol."""

VERDICT_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "not_available": "Not available",
    "error": "Error",
    "not_applicable": "Not applicable",
}


def verdict_tag(verdict: str) -> Markup:
    """A verdict as a coloured tag with its symbol and name."""
    return Markup(f'<span class="tag v-{escape(verdict)}">{VERDICT_SYMBOLS[verdict]} {VERDICT_LABELS[verdict]}</span>')


_VERDICT_TAGS = {verdict: verdict_tag(verdict) for verdict in VERDICT_SYMBOLS}


def run_link(deployment: dict) -> Markup:
    """The run id, linked to the run's page when that is an https link, then "·n" for attempt n of a re-run."""
    return Markup(_run_link(deployment))


def _run_link(deployment: dict) -> str:
    url = safe_url(deployment.get("html_url"))
    run = escape(deployment["run_id"])
    link = f'<a href="{escape(url)}">{run}</a>' if url else run
    attempt = deployment.get("run_attempt")
    return f"{link}&nbsp;·{int(attempt)}" if attempt and attempt > 1 else link


def outcome_cell(value: str | None) -> Markup:
    """The deploy job's conclusion; "unknown", explained, when it was not captured."""
    if value is None:
        return Markup(
            '<span class="muted" title="The deploy job\'s conclusion was not captured: the job was still running, '
            'or its record was lost">unknown</span>'
        )
    return escape(value)


# The two long tables of report.html, formatted here in the markup the template would print:
# every value escaped, None printed as "unknown" like the template's finalize (html.py).
# jinja2 spends its time per expression and per yielded chunk (a 10,000-deployment quarter
# has 64,000 rows: 1.9 million chunks when the template formatted them), so the rows come
# as a few hundred at a time, each value escaped once and the chunk marked safe once.

ROWS_PER_CHUNK = 200
"""Table rows per chunk of the report's text stream."""


def _shown(value: object) -> Markup:
    """A value as a template prints it: escaped, and "unknown" for None."""
    return escape("unknown" if value is None else value)


def _joined(values: list) -> Markup:
    """A list as the template's `join(", ")` prints it."""
    return escape(", ".join(map(str, values)))


def _chunks(rows: Iterable[str]) -> Iterator[Markup]:
    """Rows (markup, each escaped where it was made) joined `ROWS_PER_CHUNK` at a time, one per line."""
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) == ROWS_PER_CHUNK:
            yield Markup("\n".join(batch) + "\n")
            batch = []
    if batch:
        yield Markup("\n".join(batch) + "\n")


_VERDICT_CELLS = {verdict: f'<td class="v v-{verdict}">{symbol}</td>' for verdict, symbol in VERDICT_SYMBOLS.items()}


class RunCells:
    """The cells every long table repeats for a deployment (repository, linked run, local time,
    the PR line of an exception), formatted once per deployment: at 10,000 deployments the
    population and exception tables have 64,000 rows naming 10,000 runs."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._made: dict[int, tuple[dict, str, str, str, str]] = {}

    def of(self, d: dict) -> tuple[str, str, str, str]:
        """(repository, run link, created at in the report's zone, PR line) as escaped markup."""
        made = self._made.get(id(d))
        if made is None or made[0] is not d:
            pr = ""
            if d["pr_number"]:
                title = f": {_shown(d['pr_title'])}" if d["pr_title"] else ""
                branch = _shown(d["head_branch"])
                pr = f'<br><span class="muted small">PR #{_shown(d["pr_number"])}{title} · branch {branch}</span>'
            made = (d, _shown(d["repository"]), _run_link(d), escape(local_time(d["created_at"], self.zone)), pr)
            self._made[id(d)] = made  # the deployment is kept with its cells: its id stays its own
        return made[1:]


def _population_row(d: dict, control_ids: list[str], cells_of: RunCells, titles: bool) -> str:
    repository, run, when, _ = cells_of.of(d)
    actor: str = _shown(d["actor"])
    if d["triggering_actor"] and d["triggering_actor"] != d["actor"]:
        actor = f"{actor} (re-run by {_shown(d['triggering_actor'])})"
    pr = f"#{_shown(d['pr_number'])} {_shown(d['pr_author'])}" if d["pr_number"] else ""
    cells = []
    for control_id in control_ids:
        result = d["controls"][control_id]
        verdict = result["verdict"]
        cell = _VERDICT_CELLS[verdict]  # an unknown verdict fails here, as it did in the template
        if titles and verdict != "pass":
            cell = f'<td class="v v-{verdict}" title="{_shown(result["detail"])}">{VERDICT_SYMBOLS[verdict]}</td>'
        cells.append(cell)
    oidc = d.get("oidc_token")
    return (
        f"<tr><td>{repository}</td><td>{run}</td>"
        f'<td class="when">{when}</td><td>{_shown(d["head_branch"])}</td>'
        f"<td>{actor}</td><td>{pr}</td><td>{_joined(d['pr_approvers'])}</td><td>{_joined(d['deploy_approvers'])}</td>"
        f"<td>{outcome_cell(d['outcome'])}</td>{''.join(cells)}"
        f'<td class="v">{"yes" if oidc is True else "no" if oidc is False else "?"}</td></tr>'
    )


def population_table_rows(
    deployments: list[dict], *, control_ids: list[str], cells: RunCells, titles: bool
) -> Iterator[Markup]:
    """The population table's rows, one per deployment: its facts, a cell per control (with the
    verdict's detail as a tooltip when `titles` and the verdict is not pass), the OIDC cell."""
    return _chunks(_population_row(d, control_ids, cells, titles) for d in deployments)


def _response_cell(response: dict | None, zone: tzinfo) -> str:
    if not response:
        return "<td></td>"
    who = f"{escape(str(response['category']).replace('-', ' '))} · " if response.get("category") else ""
    who += f"{_shown(response['author'])}, {escape(local_time(response['recorded_at'], zone))}"
    if response["reference"]:
        url = safe_url(response["reference"])
        reference = _shown(response["reference"])
        who += f' · <a href="{escape(url)}">{reference}</a>' if url else f" · {reference}"
    return f'<td><div class="response">{_shown(response["response"])}<span class="who">{who}</span></div></td>'


class ExceptionItem(NamedTuple):
    """One exception of one control: a tuple, not a dict, as a 50,000-deployment quarter has
    a quarter of a million of them while report.html is written."""

    deployment: dict
    result: dict
    response: dict | None


def _exception_row(item: ExceptionItem, responses: int, cells: RunCells) -> str:
    result = item.result
    repository, run, when, pr = cells.of(item.deployment)
    return (
        f'      <tr>\n        <td class="mono">{repository}</td>\n'
        f"        <td>{run}</td>\n"
        f"        <td>{when}</td>\n"
        f"        <td>{_VERDICT_TAGS[result['verdict']]}</td>\n"
        f"        <td>{_shown(result['detail'])}{pr}</td>\n"
        f"{_response_cell(item.response, cells.zone) if responses else ''}      </tr>"
    )


def exception_table_rows(items: list[ExceptionItem], *, responses: int, cells: RunCells) -> Iterator[Markup]:
    """A control's exceptions table's rows (items of `exception_groups`): the run, the verdict
    and its detail with the PR, and, when the control has any management response
    (`responses`), a cell with this exception's."""
    return _chunks(_exception_row(item, responses, cells) for item in items)


BRIEF_CHUNK = 100
"""Runs per paragraph of a brief list: short paragraphs lay out in linear time (one
paragraph of thousands of items does not) and break cleanly across pages."""


def brief_lines(items: list[ExceptionItem]) -> list[dict]:
    """Exceptions in brief, as running text: ``{"repository", "verdict", "runs"}`` per
    repository and verdict, where `runs` reads "50012 50015·2 …" (run id, then ·attempt when
    a re-run) in ascending run id, at most `BRIEF_CHUNK` per entry.

    Plain text, formatted here rather than in the template, and grouped so the verdict is
    named once per group instead of per run: WeasyPrint spends its time per glyph and per
    line, and the PDF must name every exception of a 10,000-deployment quarter (53,000 in
    the seeded benchmark). Sorted by run id, an auditor finds a run the way they find a word
    in an index."""
    groups: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for item in items:
        deployment = item.deployment
        attempt = deployment.get("run_attempt")
        run_id = deployment["run_id"]
        run = f"{run_id}" + (f"·{attempt}" if attempt and attempt > 1 else "")
        key = (deployment["repository"], item.result["verdict"])
        groups.setdefault(key, []).append((run_id, attempt or 1, run))
    lines: list[dict] = []
    for repository, verdict in sorted(groups, key=lambda key: (key[0], EXCEPTION_VERDICTS.index(key[1]))):
        runs = [run for _, _, run in sorted(groups[repository, verdict])]
        lines.extend(
            {"repository": repository, "verdict": verdict, "runs": " ".join(runs[start : start + BRIEF_CHUNK])}
            for start in range(0, len(runs), BRIEF_CHUNK)
        )
    return lines


def exception_groups(findings: dict, limit: int | None) -> list[dict]:
    """Per control, the deployments whose verdict needs follow-up, with any management response.

    Every exception is listed: the first `limit` with their detail (`entries`), the others in
    brief (`brief`: `brief_lines`, run and verdict as running text per repository), so the
    PDF names all of them; report.html gives every detail.
    """
    groups = []
    for control in findings["controls"]:
        control_id = control["id"]
        items = [
            ExceptionItem(d, d["controls"][control_id], (d.get("responses") or {}).get(control_id))
            for d in findings["deployments"]
            if d["controls"].get(control_id, {}).get("verdict") in EXCEPTION_VERDICTS
        ]
        entries = limited(items, limit)
        groups.append(
            {
                "control": control,
                "entries": entries,
                "brief": brief_lines(items[len(entries.rows) :]),
                "responses": sum(1 for item in items if item.response),
            }
        )
    return groups


SEVERITY_ORDER = ("critical", "high", "medium", "low")


def test_sheets(findings: dict) -> list[dict]:
    """One auditor's test sheet per sampled deployment whose evidence the sample carries.

    Re-arranges the item's evidence: approvals with any rejection, the PR with its reviews,
    the jobs, each scan report's findings counted per severity, and every evidence id the
    verdicts cite (sorted, once each).
    """
    sample = findings.get("sample") or {}
    index = {(d["repository"], d["run_id"], d["environment"]): d for d in findings["deployments"]}
    sheets = []
    for number, item in enumerate(sample.get("items", []), start=1):
        evidence = item.get("evidence")
        if not evidence:
            continue
        artifacts = []
        for artifact in evidence.get("artifacts", []):
            counts = Counter((finding.get("severity") or "unknown").lower() for finding in artifact.get("findings", []))
            artifacts.append(
                {
                    "artifact": artifact,
                    "counts": [(severity, counts.pop(severity, 0)) for severity in SEVERITY_ORDER]
                    + sorted(counts.items()),
                }
            )
        controls = evidence.get("controls", {})
        sheets.append(
            {
                "number": number,
                "item": item,
                "evidence": evidence,
                "deployment": index.get((item["repository"], item["run_id"], item["environment"])),
                "rejections": [
                    a for a in evidence.get("approvals", []) if (a.get("state") or "").lower() == "rejected"
                ],
                "artifacts": artifacts,
                "evidence_ids": sorted({ref for result in controls.values() for ref in result.get("evidence", [])}),
            }
        )
    return sheets


def reperform_scripts(findings: dict) -> list[dict]:
    """Each control's re-performance script for the `sqlite3` shell, with this report's parameters."""
    quarter = findings["quarter"]
    start = datetime.fromisoformat(findings["period"]["start"])
    end = datetime.fromisoformat(findings["period"]["end"])
    values = reperform.parameters(findings["settings"], quarter, start, end)
    scripts = []
    for control in [{"id": "population", "title": "The population"}, *findings["controls"]]:
        name = reperform.query_name(control["id"])
        if name in reperform.QUERIES:
            scripts.append(
                {
                    "control": control,
                    "file": f"{name}.sql",
                    "script": reperform.shell_script(name, values),
                }
            )
    return scripts


def sample_rows(findings: dict) -> list[dict]:
    """The auditor sample's items, each with its deployment (None if it is not in the population)."""
    sample = findings.get("sample")
    if not sample:
        return []
    index = {(d["repository"], d["run_id"], d["environment"]): d for d in findings["deployments"]}
    return [
        {"item": item, "deployment": index.get((item["repository"], item["run_id"], item["environment"]))}
        for item in sample["items"]
    ]


def extraction_summary(findings: dict) -> list[dict]:
    """The extraction log summed per repository: queries, rows, requests, lowest rate left."""
    summary: dict[str, dict] = {}
    for entry in findings.get("extraction_log", []):
        row = summary.setdefault(
            entry["repository"],
            {
                "repository": entry["repository"],
                "queries": 0,
                "rows": 0,
                "requests": 0,
                "rate_remaining": None,
                "first": entry["started_at"],
                "last": entry["started_at"],
            },
        )
        row["queries"] += 1
        row["rows"] += entry.get("rows") or 0
        row["requests"] += entry.get("requests") or 0
        remaining = entry.get("rate_remaining")
        if remaining is not None:
            row["rate_remaining"] = (
                remaining if row["rate_remaining"] is None else min(row["rate_remaining"], remaining)
            )
        row["first"] = min(row["first"], entry["started_at"])
        row["last"] = max(row["last"], entry["started_at"])
    return [summary[key] for key in sorted(summary)]


def summary_figures(findings: dict) -> dict:
    """Headline numbers for the executive summary. An exception is what the Exceptions section
    lists (`EXCEPTION_VERDICTS`): an unavailable verdict is one the auditor must follow up too."""
    deployments = findings["deployments"]
    with_exception = sum(
        1 for d in deployments if any(result.get("verdict") in EXCEPTION_VERDICTS for result in d["controls"].values())
    )
    controls_with_exceptions = sum(
        1 for c in findings["controls"] if any(c["counts"].get(verdict) for verdict in EXCEPTION_VERDICTS)
    )
    return {
        "deployments": len(deployments),
        "repositories": len({d["repository"] for d in deployments}),
        "with_exception": with_exception,
        "controls": len(findings["controls"]),
        "controls_with_exceptions": controls_with_exceptions,
        "responses": sum(len(d.get("responses") or {}) for d in deployments),
    }


def emergency_view(findings: dict, limit: int | None) -> dict:
    """The emergency-changes section: counts by review status, and the deployments."""
    rows = (findings.get("emergency") or {}).get("deployments", [])
    statuses = Counter(row["status"] for row in rows)
    order = ("reviewed in time", "reviewed late", "never reviewed", "unknown")
    return {
        "total": len(rows),
        "late_or_never": statuses["reviewed late"] + statuses["never reviewed"],
        "by_status": [(status, statuses[status]) for status in order if statuses[status]],
        "rows": limited(rows, limit),
    }


def population_by_repository(findings: dict) -> list[dict]:
    """Per repository: its deployments and how many have an exception, for the PDF's
    population section when the deployments themselves are left to the attachments."""
    counts: dict[str, list[int]] = {}
    for deployment in findings["deployments"]:
        count = counts.setdefault(deployment["repository"], [0, 0])
        count[0] += 1
        count[1] += any(result["verdict"] in EXCEPTION_VERDICTS for result in deployment["controls"].values())
    return [
        {"name": name, "deployments": deployments, "exceptions": exceptions}
        for name, (deployments, exceptions) in sorted(counts.items())
    ]


EXCEPTIONS_IN_DETAIL_PDF = 10
"""Exceptions of each control the PDF gives with their detail; it names the others in a brief
index of run ids. A detailed row costs WeasyPrint about 8 ms to lay out and draw: at 10,000
deployments 25 rows per control took 1.7 s more than 10. Every detail is in report.html,
population.xlsx and findings.json (attached inside the PDF)."""


def build_context(
    findings: dict,
    *,
    medium: str,
    population_limit: int | None,
    table_limit: int | None,
    exception_limit: int | None = None,
) -> dict:
    """Everything the report template needs; `medium` is "html" or "pdf". `exception_limit`:
    the exceptions of each control given in detail (`table_limit` when None)."""
    zone = report_zone(findings)
    windows = findings["completeness"].get("windows", [])
    return {
        "findings": findings,
        "medium": medium,
        "symbols": VERDICT_SYMBOLS,
        "labels": VERDICT_LABELS,
        "zone": findings["period"].get("timezone") or "UTC",
        "summary": summary_figures(findings),
        "weekly": weekly_chart(findings, zone),
        "verdicts": verdict_chart(findings),
        "latency": latency_chart(findings),
        "trend": trend_chart(findings, zone),
        "emergency": emergency_view(findings, table_limit),
        "credentials": findings.get("credentials"),
        "settings_observed": findings["completeness"].get("settings_observed"),
        "emergency_policy": findings.get("emergency"),
        "settings_in_force": findings.get("settings_in_force"),
        "matrix": control_rows(findings),
        "exceptions": exception_groups(findings, table_limit if exception_limit is None else exception_limit),
        "sample": sample_rows(findings),
        "test_sheets": test_sheets(findings),
        "reperform": reperform_scripts(findings),
        "windows": limited(windows, table_limit),
        "windows_short": sum(1 for w in windows if w.get("fetched") != w.get("total_count")),
        "extraction": limited(extraction_summary(findings), table_limit),
        "evidence_lost": limited(findings["completeness"].get("evidence_lost", []), table_limit),
        "mismatches": limited(findings["completeness"].get("mismatches", []), table_limit),
        "population": limited(findings["deployments"], population_limit),
        "population_by_repository": limited(
            population_by_repository(findings) if medium == "pdf" and population_limit == 0 else [], table_limit
        ),
        "title": f"SOC 2 change-management evidence — {findings['quarter']}",
    }
