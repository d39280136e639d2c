"""Artifacts of the production runs: listed, downloaded once, and parsed as scan reports.

GitHub expires artifacts (90 days by default), so the store keeps each one's bytes (when it
is a recognised scan report) with its SHA-256 digest and parsed findings. Each `/zip`
request costs rate budget, so an artifact is downloaded only when it can be evidence:

- once captured, never again (GitHub's copy may be gone by now);
- not when its name plainly says it is something else — coverage, test results, builds,
  docs — and nothing of scanning (`might_be_scan_evidence`, the rule `scan.clean` and
  `evidence.retained` apply to lost artifacts): stored as `not_scan`, "not downloaded";
- not when GitHub lists it with the `digest` of bytes already captured (a re-uploaded
  report): its row and findings are copied from that artifact, and the detail says so.

Downloads run side by side (`CaptureSession.fetcher`); the rows are stored in the order
the artifacts were listed, by this thread only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from audit.controls.people import might_be_scan_evidence
from audit.extract.client import ArtifactLocation, GitHubClient
from audit.extract.querylog import Started
from audit.extract.session import CaptureSession, iso_z, parse_time
from audit.scans import inspect_artifact
from audit.store import now_utc

_DONE = ("captured", "not_scan")
"""Capture states after which GitHub's copy is no longer needed (and may be gone)."""

DOWNLOAD = "GET /repos/{owner}/{repo}/actions/artifacts/{id}/zip"


@dataclass(frozen=True)
class Download:
    """What one `/zip` request (and the blob behind it) gave, fetched on any thread."""

    status: str
    """ok, expired or unreadable (`GitHubClient.download_artifact`)."""
    content: bytes | None
    why: str | None
    started_at: str
    requests: int


@dataclass(frozen=True)
class _Located:
    """Where `/zip` said an artifact's bytes are, with what asking cost."""

    location: ArtifactLocation
    started_at: str
    requests: int


class ArtifactCollector:
    """Lists and downloads the artifacts of production runs."""

    def __init__(self, session: CaptureSession):
        self.session = session
        self.store = session.store
        self.client = session.client

    def list_for_repository(self, repository: str, runs: list[dict]) -> dict[int, list[dict]]:
        """The artifacts of `runs` by run id, from one repository-wide listing.

        `GET /actions/artifacts` lists newest first; it is read down to the oldest run's
        creation only, since an artifact is made during its run.
        """
        wanted = {run["run_id"] for run in runs}
        oldest = min(created for run in runs if (created := parse_time(run["created_at"])) is not None)
        found: dict[int, list[dict]] = {}
        started = self.session.log.begin()
        count, listed = None, 0
        for page in self.client.pages(f"{self.client.repo_url(repository)}/actions/artifacts"):
            items = page.items("artifacts")  # unreadable: stop, never "these runs made no artifacts"
            count = page.object().get("total_count", count)
            listed += len(items)
            older = False
            for artifact in items:
                run_id = (artifact.get("workflow_run") or {}).get("id")
                if run_id is not None and run_id in wanted:
                    found.setdefault(run_id, []).append(artifact)
                created = parse_time(artifact.get("created_at"))
                older = older or (created is not None and created < oldest)
            if older or not items:
                break
        self.session.log.record(
            repository,
            "GET /repos/{owner}/{repo}/actions/artifacts",
            {"created_since": iso_z(oldest)},
            started,
            total_count=count,
            rows=listed,
        )
        return found

    def collect_for_run(self, repository: str, run_id: int) -> None:
        """List one run's artifacts (`/actions/runs/{id}/artifacts`) and store them."""
        artifacts = self.session.log.listing(
            repository,
            "GET /repos/{owner}/{repo}/actions/runs/{id}/artifacts",
            {"run_id": run_id},
            f"{self.client.repo_url(repository)}/actions/runs/{run_id}/artifacts",
            key="artifacts",
        )
        self.store_listed(repository, {run_id: artifacts}).store_run(run_id)

    def store_listed(self, repository: str, listed: dict[int, list[dict]]) -> ArtifactPass:
        """Start downloading what must be downloaded of `listed` (run id -> its artifacts);
        `store_run(run_id)` on the pass then stores each run's artifacts, in this order."""
        to_capture = {
            run_id: [a for a in artifacts if self.store.artifact_capture_status(a["id"]) not in _DONE]
            for run_id, artifacts in listed.items()
        }
        wanted, digests = [], set()
        for artifact in (a for artifacts in to_capture.values() for a in artifacts):
            if artifact.get("expired") or not might_be_scan_evidence(artifact.get("name") or ""):
                continue
            digest = _sha256_of(artifact)
            if digest and (digest in digests or self.store.captured_artifact_with_digest(digest)):
                continue  # the same bytes are captured, or will be by an earlier download
            if digest:
                digests.add(digest)
            wanted.append(artifact)
        downloads = self.session.fetcher.map_then(
            lambda client, a: self._locate(client, repository, a), self._fetch_blob, wanted
        )
        return ArtifactPass(self, repository, to_capture, {a["id"] for a in wanted}, downloads)

    def _download(self, client: GitHubClient, repository: str, artifact: dict) -> Download:
        return self._fetch_blob(client, self._locate(client, repository, artifact))

    def _locate(self, client: GitHubClient, repository: str, artifact: dict) -> _Located:
        """The API half of a download (`/zip`), on a worker."""
        started = self.session.log.begin()
        location = client.artifact_location(repository, artifact["id"])
        return _Located(location, started.at, client.counter.by_this_thread - started.requests)

    @staticmethod
    def _fetch_blob(client: GitHubClient, located: _Located) -> Download:
        """The storage half of a download, on a blob thread: no API request."""
        status, content, why = client.download_blob(located.location)
        return Download(status, content, why, located.started_at, located.requests)

    def _store(self, repository: str, run_id: int, artifact: dict, download: Download | None) -> None:
        row = {
            "artifact_id": artifact["id"],
            "repository": repository,
            "run_id": run_id,
            "name": artifact.get("name"),
            "size_in_bytes": artifact.get("size_in_bytes"),
            "created_at": artifact.get("created_at"),
            "expires_at": artifact.get("expires_at"),
            "expired": int(bool(artifact.get("expired"))),
            "captured_at": now_utc(),
            "scan_format": None,
            "sha256": None,
            "content": None,
            "capture_detail": None,
            "scan_gaps": None,
            "scan_recovered": None,
        }
        findings: list[dict] = []
        same_bytes = None if download is not None else self._captured_with_same_digest(artifact)
        if artifact.get("expired"):
            row.update(
                capture_status="expired",
                capture_detail="GitHub lists the artifact as expired: its content was never captured",
            )
        elif not might_be_scan_evidence(artifact.get("name") or ""):
            row.update(
                capture_status="not_scan",
                capture_detail="not downloaded: its name says it is not scan evidence (coverage, tests, build, docs)",
            )
        elif download is None and same_bytes is not None:
            original, original_findings = same_bytes
            row.update(
                capture_status=original["capture_status"],
                capture_detail=f"not downloaded again: GitHub lists it with the digest of artifact "
                f"{original['artifact_id']}, whose bytes are stored (sha256 {original['sha256']})",
                scan_format=original["scan_format"],
                sha256=original["sha256"],
                content=original["content"],
                scan_gaps=original["scan_gaps"],
                scan_recovered=original["scan_recovered"],
            )
            findings = [{**finding, "artifact_id": artifact["id"]} for finding in original_findings]
        else:
            if download is None:  # its twin was not captured after all: fetch it here
                download = self._download(self.client, repository, artifact)
            self.session.log.record(
                repository,
                DOWNLOAD,
                {"artifact_id": artifact["id"]},
                Started(download.started_at, 0),
                rows=int(download.content is not None),
                requests=download.requests,
            )
            if download.status != "ok" or download.content is None:
                row.update(capture_status=download.status, capture_detail=download.why)
            else:
                scan = inspect_artifact(download.content, artifact_name=artifact.get("name"))
                row.update(
                    capture_status=scan.status,
                    capture_detail=scan.detail,
                    scan_format=scan.scan_format,
                    sha256=scan.sha256,
                    content=download.content if scan.status == "captured" else None,
                    scan_gaps="\n".join(scan.gaps) or None,
                    scan_recovered="\n".join(scan.recovered) or None,
                )
                findings = [
                    {
                        "artifact_id": artifact["id"],
                        "seq": seq,
                        "repository": repository,
                        "tool": f.tool,
                        "severity": f.severity,
                        "rule_id": f.rule_id,
                        "title": f.title,
                        "location": f.location,
                    }
                    for seq, f in enumerate(scan.findings)
                ]
        self.store.save_artifact(row, findings)

    def _captured_with_same_digest(self, artifact: dict) -> tuple[dict, list[dict]] | None:
        digest = _sha256_of(artifact)
        return self.store.captured_artifact_with_digest(digest) if digest else None


class ArtifactPass:
    """The artifacts of some runs, downloads under way, stored run by run by the writer."""

    def __init__(
        self,
        collector: ArtifactCollector,
        repository: str,
        to_capture: dict[int, list[dict]],
        downloading: set[int],
        downloads: Iterator[Download],
    ):
        self.collector = collector
        self.repository = repository
        self.to_capture = to_capture
        self.downloading = downloading
        """Ids of the artifacts whose downloads `downloads` yields, in listing order."""
        self.downloads = downloads

    def store_run(self, run_id: int) -> None:
        """Mark the run's artifact list captured and store each artifact not captured before."""
        self.collector.store.mark_run_piece(self.repository, run_id, "artifacts", now_utc())
        for artifact in self.to_capture.get(run_id, []):
            download = next(self.downloads) if artifact["id"] in self.downloading else None
            self.collector._store(self.repository, run_id, artifact, download)


def _sha256_of(artifact: dict) -> str | None:
    digest = artifact.get("digest") or ""
    return digest.removeprefix("sha256:").lower() if digest.startswith("sha256:") else None
