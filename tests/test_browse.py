"""Datasette over the evidence store: every canned query gives what the sqlite3 shell gives.

Uses Datasette's own test client (no port opened) on the demo package's evidence.db, with
the metadata `make browse` serves.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest
from datasette.app import Datasette

from audit.browse import FACETS, TABLES, metadata
from audit.controls import CONTROLS
from audit.reperform import parameter_names, query_name, shell_script


@pytest.fixture(scope="module")
def browse(demo_report, tmp_path_factory):
    # a copy: even a read-only connection to a WAL-mode file leaves -wal/-shm files beside it,
    # and the signed package must hold exactly its listed files
    database = tmp_path_factory.mktemp("browse") / "evidence.db"
    shutil.copyfile(demo_report["dir"] / "evidence.db", database)
    document = metadata(database)
    # the time limit `make browse` sets (Datasette's default, 1 s, is short for a loaded machine)
    datasette = Datasette(immutables=[str(database)], metadata=document, settings={"sql_time_limit_ms": 20000})

    def get(path: str, **params):
        async def fetch():
            return await datasette.client.get(path, params=params)

        return asyncio.run(fetch())

    return {"database": database, "metadata": document, "get": get}


def _shell_rows(database, name: str, values: dict) -> list[dict]:
    result = subprocess.run(
        ["sqlite3", "-readonly", str(database)],
        input=shell_script(name, values, mode="json"),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout or "[]")


def test_every_control_is_a_canned_query_with_its_parameters(browse):
    queries = browse["metadata"]["databases"]["evidence"]["queries"]
    for control in CONTROLS:
        name = query_name(control.id)
        assert queries[name]["params"] == parameter_names(name)
        assert "latest evaluation" in queries[name]["description_html"]


@pytest.mark.parametrize("name", ["population", *[query_name(control.id) for control in CONTROLS]])
def test_canned_query_rows_equal_the_sqlite3_shell(browse, name):
    from audit.browse import latest_parameters

    values = latest_parameters(browse["database"])
    params = {key: str(values[key]) for key in parameter_names(name)}  # a browser sends text
    response = browse["get"](f"/evidence/{name}.json", _shape="array", **params)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) > 300
    assert rows == _shell_rows(browse["database"], name, values)


def test_descriptions_and_facets(browse):
    served = browse["get"]("/-/metadata.json").json()["databases"]["evidence"]["tables"]
    for table, (description, columns) in TABLES.items():
        assert served[table]["description"] == description
        assert served[table]["columns"] == columns
    page = browse["get"]("/evidence/verdicts.json", _size="1").json()
    assert set(FACETS["verdicts"]) <= set(page["facet_results"])
    assert {"pass", "fail"} <= {item["value"] for item in page["facet_results"]["verdict"]["results"]}


def test_one_page_per_deployment_with_all_its_evidence(browse):
    get = browse["get"]
    run = get(  # a deployment whose evidence was all retained
        "/evidence/verdicts.json", _shape="array", _size="1", control_id="evidence.retained", verdict="pass"
    ).json()[0]
    rows = get(
        "/evidence/deployment.json", _shape="array", repository=run["repository"], run_id=str(run["run_id"])
    ).json()
    kinds = {row["evidence"] for row in rows}
    assert {"workflow_runs", "jobs", "approvals", "deployments", "deployment_statuses", "verdicts"} <= kinds
    verdicts = [row for row in rows if row["evidence"] == "verdicts"]
    assert len(verdicts) == len(CONTROLS)
    html = get("/evidence/deployment", repository=run["repository"], run_id=str(run["run_id"]))
    assert html.status_code == 200 and str(run["run_id"]) in html.text
