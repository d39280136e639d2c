"""Re-performance: every control expressed as SQL over the evidence store, for auditors.

An auditor re-performs a control without our code: open `evidence.db` with `sqlite3` (or
Datasette), set the parameters the file's header names, run the file, and compare the
verdicts with the `verdicts` table. Each control `a.b` has its query in `a_b.sql` beside
this module; `population.sql` recomputes the population. `run_sql` does the same from
Python, and `shell_script` writes the exact script the report's appendix prints for the
`sqlite3` shell (tests run both and compare them with the evaluation's verdicts).

Parameters are the configuration's settings under their own names (lists as JSON arrays),
plus `:quarter` (the key the verdicts are stored under), `:start` and `:end` (the period's
bounds in UTC) and `:environments` (the production environment patterns).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from importlib import resources

from audit.times import iso_z

QUERIES = tuple(
    sorted(
        path.name.removesuffix(".sql") for path in resources.files(__package__).iterdir() if path.name.endswith(".sql")
    )
)
"""The SQL files shipped beside this module (without `.sql`)."""

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def query_name(control_id: str) -> str:
    """The shipped query of a control: `deploy.from_main` -> `deploy_from_main`."""
    return control_id.replace(".", "_")


def query_text(name: str) -> str:
    """The text of one shipped query."""
    if name not in QUERIES:
        raise KeyError(f"no re-performance query {name!r}; known: {', '.join(QUERIES)}")
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def parameter_names(name: str) -> list[str]:
    """The named parameters a query uses, in order of first use (comments included)."""
    return list(dict.fromkeys(_PARAMETER.findall(query_text(name))))


def run_sql(db, name: str, **parameters) -> list[dict]:
    """Run a shipped query with named parameters; rows as dicts."""
    return [dict(row) for row in db.query(query_text(name), parameters)]


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _dot_argument(text: str) -> str:
    """A `sqlite3` dot-command argument in double quotes (the shell resolves backslashes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parameter_lines(name: str, parameters: dict) -> list[str]:
    """`.parameter set` lines for every parameter the query names, for the `sqlite3` shell."""
    return [
        f".parameter set :{key} {_dot_argument(_sql_literal(parameters[key]))}"
        for key in parameter_names(name)
        if key in parameters
    ]


def shell_script(name: str, parameters: dict, *, mode: str = "box") -> str:
    """The whole `sqlite3` script for one query: output mode, parameters, then the query.

    Saved as `<name>.sql` and run with `sqlite3 -readonly evidence.db < <name>.sql`.
    """
    return "\n".join([f".mode {mode}", ".parameter init", *parameter_lines(name, parameters), query_text(name)])


def parameters(settings: Mapping, quarter: str, start: datetime, end: datetime) -> dict:
    """Every parameter a shipped query may name, from the settings and the period.

    `settings` is `Settings.as_dict()` (or findings.json's `settings`): each setting under its
    own name, lists as JSON arrays so `json_each` reads them. Besides: `quarter` (the key
    the verdicts are stored under), `start` and `end` (the period in UTC, written like
    GitHub's timestamps) and `environments` (the production environment patterns).
    """
    values = {
        key: json.dumps(list(value)) if isinstance(value, list | tuple) else value
        for key, value in settings.items()
        if value is not None
    }
    values.update(
        quarter=str(quarter),
        start=iso_z(start),
        end=iso_z(end),
        environments=json.dumps(list(settings["production_environments"])),
    )
    return values
