"""GitHub behaviours of the fake server: pagination, the 1,000 cap, filters, downloads,
conditional requests, rate-limit headers, request log, errors and injected faults."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import requests

from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.demo.fakegithub.server import parse_created

from .conftest import T0, make_world

RUNS = "/repos/acme/app/actions/runs"


def get(server: FakeGitHub, path: str, headers: dict | None = None, **params) -> requests.Response:
    return requests.get(server.base_url + path, params=params, headers=headers, timeout=10, allow_redirects=False)


def links(response: requests.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


@pytest.fixture(scope="module")
def big() -> FakeGitHub:
    """2,500 deployments in 2024Q2: more than the 1,000-result cap."""
    with FakeGitHub(synthetic_world(deployments=2500, artifacts=False)) as server:
        yield server


def test_pagination_and_link_headers(server: FakeGitHub) -> None:
    first = get(server, RUNS, per_page=1, branch="main")
    assert first.json()["total_count"] == 3
    assert set(links(first)) == {"next", "last"}
    assert links(first)["next"] == f"{server.base_url}{RUNS}?per_page=1&branch=main&page=2"
    assert links(first)["last"].endswith("page=3")
    middle = requests.get(links(first)["next"], timeout=10)
    assert set(links(middle)) == {"prev", "next", "last", "first"}
    last = requests.get(links(first)["last"], timeout=10)
    assert set(links(last)) == {"prev", "first"}
    ids = [r.json()["workflow_runs"][0]["id"] for r in (first, middle, last)]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert "Link" not in get(server, RUNS).headers, "one page: no Link header"


@pytest.mark.parametrize(("per_page", "expected"), [(None, 30), ("0", 1), ("7", 7), ("100", 100), ("500", 100)])
def test_per_page_default_and_bounds(big: FakeGitHub, per_page, expected) -> None:
    params = {} if per_page is None else {"per_page": per_page}
    body = get(big, "/repos/synthetic/service-000/actions/runs", **params).json()
    assert len(body["workflow_runs"]) == expected


def test_filtered_run_listing_is_capped_at_1000_with_the_true_total(big: FakeGitHub) -> None:
    path = "/repos/synthetic/service-000/actions/runs"
    quarter = "2024-04-01..2024-06-30"
    seen = []
    url, params = big.base_url + path, {"created": quarter, "per_page": 100}
    while url:
        response = requests.get(url, params=params, timeout=10)
        assert response.json()["total_count"] == 2500
        seen.extend(run["id"] for run in response.json()["workflow_runs"])
        url, params = response.links.get("next", {}).get("url"), None
    assert len(seen) == 1000 == len(set(seen))
    assert get(big, path, created=quarter, per_page=100, page=11).json()["workflow_runs"] == []
    unfiltered = get(big, path, per_page=100, page=11).json()
    assert len(unfiltered["workflow_runs"]) == 100, "the cap applies to filtered queries only"


def test_created_windows_split_the_population(big: FakeGitHub) -> None:
    path = "/repos/synthetic/service-000/actions/runs"
    april = get(big, path, created="2024-04-01..2024-04-30").json()["total_count"]
    may_on = get(big, path, created=">=2024-05-01").json()["total_count"]
    assert april + may_on == 2500
    before = get(big, path, created="<2024-05-01T00:00:00Z").json()["total_count"]
    assert before == april


@pytest.mark.parametrize(
    ("expression", "inside", "outside"),
    [
        (
            "2024-05-06..2024-05-06",
            ["2024-05-06T00:00:00", "2024-05-06T23:59:59"],
            ["2024-05-05T23:59:59", "2024-05-07T00:00:00"],
        ),
        ("2024-05-06T10:00:00Z..2024-05-06T11:00:00Z", ["2024-05-06T10:00:00"], ["2024-05-06T11:00:01"]),
        (">=2024-05-06", ["2024-05-06T00:00:00"], ["2024-05-05T23:59:59"]),
        (">2024-05-06", ["2024-05-07T00:00:00"], ["2024-05-06T23:59:59"]),
        ("<=2024-05-06", ["2024-05-06T23:59:59"], ["2024-05-07T00:00:00"]),
        ("<2024-05-06", ["2024-05-05T23:59:59"], ["2024-05-06T00:00:00"]),
        ("2024-05-06..*", ["2030-01-01T00:00:00"], ["2024-05-05T00:00:00"]),
        ("2024-05-06T12:00:00+02:00..2024-05-06T13:00:00+02:00", ["2024-05-06T10:30:00"], ["2024-05-06T12:30:00"]),
    ],
)
def test_created_syntax(expression: str, inside: list[str], outside: list[str]) -> None:
    low, high, low_inclusive, high_inclusive = parse_created(expression)

    def contains(text: str) -> bool:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        above = low is None or moment > low or (moment == low and low_inclusive)
        below = high is None or moment < high or (moment == high and high_inclusive)
        return above and below

    assert all(contains(t) for t in inside) and not any(contains(t) for t in outside)


def test_created_filter_over_http(server: FakeGitHub) -> None:
    window = f"{T0:%Y-%m-%dT%H:%M:%SZ}..{T0 + timedelta(minutes=90):%Y-%m-%dT%H:%M:%SZ}"
    assert get(server, RUNS, created=window).json()["total_count"] == 2
    plus = get(server, RUNS, created="2024-05-06T12:00:00+02:00..2024-05-06T12:30:00+02:00")
    assert plus.json()["total_count"] == 1, "a '+' offset survives form decoding"
    assert get(server, RUNS, created="garbage").status_code == 422


def test_other_run_filters(server: FakeGitHub) -> None:
    run = server.world.repositories["acme/app"].runs_newest_first()[0]
    assert get(server, RUNS, head_sha=run.head_sha).json()["total_count"] == 1
    assert get(server, RUNS, status="success").json()["total_count"] == 3
    assert get(server, RUNS, status="completed").json()["total_count"] == 3
    assert get(server, RUNS, event="pull_request").json()["total_count"] == 0
    assert get(server, RUNS, branch="other").json()["total_count"] == 0
    by_file = get(server, "/repos/acme/app/actions/workflows/deploy.yml/runs").json()
    by_id = get(server, f"/repos/acme/app/actions/workflows/{run.workflow.id}/runs").json()
    assert by_file["total_count"] == by_id["total_count"] == 3


def test_artifact_download_redirects_to_a_blob_without_auth() -> None:
    world = make_world()
    artifact = next(iter(world.artifacts.values()))[1]
    with FakeGitHub(world, token="s3cret") as server:
        auth = {"Authorization": "token s3cret"}
        path = f"/repos/acme/app/actions/artifacts/{artifact.id}/zip"
        redirect = get(server, path, headers=auth)
        assert redirect.status_code == 302
        location = redirect.headers["Location"]
        assert location.startswith(f"{server.base_url}/_blobs/")
        assert requests.get(location, headers=auth, timeout=10).status_code == 400
        blob = requests.get(location, timeout=10)
        assert blob.status_code == 200
        assert blob.headers["Content-Type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(blob.content)).namelist() == ["report.json"]
        # requests drops the Authorization header on a redirect to another host only, so a
        # client must follow the 302 itself; the blob is logged but not counted by default.
        assert server.request_count(include_blobs=True) == server.request_count() + 2


def test_expired_artifacts_answer_410_and_old_statuses_are_gone() -> None:
    world = make_world(as_of=T0 + timedelta(days=91))
    repo = world.repositories["acme/app"]
    artifact = next(iter(world.artifacts.values()))[1]
    with FakeGitHub(world) as server:
        listed = get(server, f"/repos/acme/app/actions/runs/{artifact.run_id}/artifacts").json()
        assert listed["artifacts"][0]["expired"] is True
        response = get(server, f"/repos/acme/app/actions/artifacts/{artifact.id}/zip")
        assert response.status_code == 410
        assert response.json()["message"] == "Artifact has expired"
        deployment = repo.deployments[0]
        statuses = get(server, f"/repos/acme/app/deployments/{deployment.id}/statuses")
        assert statuses.status_code == 200 and statuses.json() == []


def test_statuses_newest_first_and_linked_to_the_run(server: FakeGitHub) -> None:
    repo = server.world.repositories["acme/app"]
    deployment = repo.deployments[0]
    run = repo.runs[deployment.run_id]
    body = get(server, f"/repos/acme/app/deployments/{deployment.id}/statuses").json()
    assert [s["state"] for s in body] == ["success", "queued", "waiting"]
    assert body[-1]["target_url"] == run.html_url
    assert body[0]["log_url"] == f"{run.html_url}/job/{deployment.job_id}"
    listed = get(server, "/repos/acme/app/deployments", environment="production").json()
    assert listed[-1]["creator"]["login"] == "github-actions[bot]"
    assert listed[-1]["creator"]["type"] == "Bot"
    assert (listed[-1]["sha"], listed[-1]["ref"]) == (run.head_sha, "main")


def test_etag_and_304_is_not_charged(server: FakeGitHub) -> None:
    first = get(server, RUNS)
    etag = first.headers["ETag"]
    remaining = int(first.headers["x-ratelimit-remaining"])
    again = get(server, RUNS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    changed = get(server, RUNS, headers={"If-None-Match": 'W/"other"'})
    assert changed.status_code == 200
    assert int(changed.headers["x-ratelimit-remaining"]) == remaining - 1
    assert server.requests[-2].if_none_match and server.requests[-2].status == 304


def test_rate_limit_headers_and_exhaustion() -> None:
    with FakeGitHub(make_world(), rate_limit=3) as server:
        response = get(server, "/repos/acme/app")
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert {k: response.headers[f"x-ratelimit-{k}"] for k in ("limit", "remaining", "used")} == {
            "limit": "3",
            "remaining": "2",
            "used": "1",
        }
        assert response.headers["x-ratelimit-resource"] == "core"
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
        free = get(server, "/rate_limit")
        assert free.json()["resources"]["core"]["remaining"] == 2, "/rate_limit is free"
        get(server, "/repos/acme/app")
        get(server, "/repos/acme/app")
        spent = get(server, "/repos/acme/app")
        assert spent.status_code == 403
        assert spent.headers["x-ratelimit-remaining"] == "0"


def test_request_log_and_counting(server: FakeGitHub) -> None:
    server.reset_requests()
    get(server, RUNS, per_page=2)
    get(server, "/repos/acme/app/deployments")
    get(server, "/repos/acme/app/nothing-here")
    assert server.request_count() == 3
    assert server.request_count("/repos/acme/app/actions") == 1
    record = server.requests[0]
    assert (record.method, record.path, record.query, record.status) == ("GET", RUNS, {"per_page": "2"}, 200)
    with pytest.raises(AttributeError):
        record.status = 500  # type: ignore[misc]
    server.reset_requests()
    assert server.request_count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/repos/acme/unknown",
        "/repos/acme/unknown/actions/runs",
        "/repos/acme/app/actions/runs/1",
        "/repos/acme/app/actions/runs/1/jobs",
        "/repos/acme/app/deployments/1/statuses",
        "/repos/acme/app/environments/nope",
        "/repos/acme/app/pulls/999",
        "/repos/acme/app/actions/artifacts/1/zip",
        "/repos/acme/app/actions/workflows/missing.yml/runs",
        "/no/such/endpoint",
    ],
)
def test_unknown_things_are_404_basic_errors(server: FakeGitHub, path: str) -> None:
    response = get(server, path)
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
    assert "documentation_url" in response.json()


def test_token_is_required_when_configured() -> None:
    with FakeGitHub(make_world(), token="abc") as server:
        assert get(server, "/repos/acme/app").status_code == 401
        assert get(server, "/repos/acme/app", {"Authorization": "token nope"}).status_code == 401
        assert get(server, "/repos/acme/app", {"Authorization": "token abc"}).status_code == 200
        assert get(server, "/repos/acme/app", {"Authorization": "Bearer abc"}).status_code == 200


def test_url_encoded_environment_name(server: FakeGitHub) -> None:
    body = get(server, "/repos/acme/app/environments/eu%2Fstaging").json()
    assert body["name"] == "eu/staging"
    assert body["url"].endswith("/environments/eu%2Fstaging")
    production = get(server, "/repos/acme/app/environments/production").json()
    rule = next(r for r in production["protection_rules"] if r["type"] == "required_reviewers")
    assert rule["prevent_self_review"] is True
    assert rule["reviewers"][0]["reviewer"]["login"] == "dana"


def test_code_scanning_needs_advanced_security(server: FakeGitHub) -> None:
    response = get(server, "/repos/acme/app/code-scanning/analyses")
    assert response.status_code == 403
    assert "Advanced Security must be enabled" in response.json()["message"]


def test_jobs_latest_and_all_attempts() -> None:
    world = make_world()
    run = next(iter(world.runs.values()))
    run.run_attempt = 2
    run.triggering_actor = "carol"
    run.add_job("test", started_at=T0 + timedelta(hours=2))
    with FakeGitHub(world) as server:
        path = f"/repos/acme/app/actions/runs/{run.id}/jobs"
        latest = get(server, path).json()
        every = get(server, path, filter="all").json()
        detail = get(server, f"/repos/acme/app/actions/runs/{run.id}").json()
    assert [j["run_attempt"] for j in latest["jobs"]] == [2]
    assert sorted(j["run_attempt"] for j in every["jobs"]) == [1, 1, 2]
    assert (detail["actor"]["login"], detail["triggering_actor"]["login"]) == ("alice", "carol")
    assert detail["previous_attempt_url"].endswith("/attempts/1")


class TestFaults:
    def test_one_shot_5xx_then_normal(self, server: FakeGitHub) -> None:
        fault = server.add_fault(r"/actions/runs$", 502)
        assert get(server, RUNS).status_code == 502
        assert get(server, RUNS).status_code == 200
        assert fault.fired == 1
        assert get(server, "/repos/acme/app").status_code == 200

    def test_secondary_rate_limit_and_429(self, server: FakeGitHub) -> None:
        server.add_fault(r"/deployments$", 403, headers={"retry-after": "2"})
        server.add_fault(r"/deployments$", 429, headers={"retry-after": "1"}, times=2)
        statuses = []
        for _ in range(4):
            response = get(server, "/repos/acme/app/deployments")
            statuses.append((response.status_code, response.headers.get("retry-after")))
        assert statuses == [(403, "2"), (429, "1"), (429, "1"), (200, None)]

    def test_primary_exhaustion(self, server: FakeGitHub) -> None:
        server.exhaust_rate_limit(r"/jobs$", reset_in=5)
        run = next(iter(server.world.runs.values()))
        response = get(server, f"/repos/acme/app/actions/runs/{run.id}/jobs")
        assert response.status_code == 403
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert 0 < int(response.headers["x-ratelimit-reset"]) - time.time() <= 7
        assert "rate limit exceeded" in response.json()["message"]

    def test_slow_response(self, server: FakeGitHub) -> None:
        server.add_fault(r"^/repos/acme/app$", None, delay=0.3)
        started = time.monotonic()
        assert get(server, "/repos/acme/app").status_code == 200
        assert time.monotonic() - started >= 0.3
        assert server.requests[-1].fault

    def test_probability_is_seeded(self, server: FakeGitHub) -> None:
        def pattern(seed: int) -> list[int]:
            server.clear_faults()
            server.add_fault(r"^/rate_limit$", 503, times=None, probability=0.5, seed=seed)
            return [get(server, "/rate_limit").status_code for _ in range(12)]

        assert pattern(7) == pattern(7)
        assert {503, 200} <= set(pattern(7))

    def test_faults_are_logged_and_counted(self, server: FakeGitHub) -> None:
        server.reset_requests()
        server.add_fault(r"/actions/runs$", 503, times=None)
        get(server, RUNS)
        get(server, RUNS)
        assert server.request_count(RUNS) == 2
        assert all(r.fault and r.status == 503 for r in server.requests)
