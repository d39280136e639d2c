"""Artifacts of the production runs: listed, downloaded once, and parsed as scan reports.

GitHub expires artifacts (90 days by default), so the store keeps each one's bytes (when it
is a recognised scan report) with its SHA-256 digest and parsed findings. An artifact once
captured is never downloaded again.
"""

from __future__ import annotations

from audit.extract.session import CaptureSession, iso_z, parse_time
from audit.scans import inspect_artifact
from audit.store import now_utc

_DONE = ("captured", "not_scan")
"""Capture states after which GitHub's copy is no longer needed (and may be gone)."""


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
        oldest = min(parse_time(run["created_at"]) for run in runs)
        found: dict[int, list[dict]] = {}
        started = self.session.log.begin()
        count, listed = None, 0
        for page in self.client.pages(f"{self.client.repo_url(repository)}/actions/artifacts"):
            count = page.data.get("total_count", count)
            items = page.data.get("artifacts", [])
            listed += len(items)
            older = False
            for artifact in items:
                run_id = (artifact.get("workflow_run") or {}).get("id")
                if run_id in wanted:
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
        self.store_listed(repository, run_id, artifacts)

    def store_listed(self, repository: str, run_id: int, artifacts: list[dict]) -> None:
        """Mark the run's artifact list captured and download what was not captured before."""
        self.store.mark_run_piece(repository, run_id, "artifacts", now_utc())
        for artifact in artifacts:
            if self.store.artifact_capture_status(artifact["id"]) in _DONE:
                continue  # captured once: GitHub's copy may be gone by now
            self._capture(repository, run_id, artifact)

    def _capture(self, repository: str, run_id: int, artifact: dict) -> None:
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
        if artifact.get("expired"):
            row.update(
                capture_status="expired",
                capture_detail="GitHub lists the artifact as expired: its content was never captured",
            )
        else:
            started = self.session.log.begin()
            status, content, why = self.client.download_artifact(repository, artifact["id"])
            self.session.log.record(
                repository,
                "GET /repos/{owner}/{repo}/actions/artifacts/{id}/zip",
                {"artifact_id": artifact["id"]},
                started,
                rows=int(content is not None),
            )
            if status != "ok":
                row.update(capture_status=status, capture_detail=why)
            else:
                scan = inspect_artifact(content, artifact_name=artifact.get("name"))
                row.update(
                    capture_status=scan.status,
                    capture_detail=scan.detail,
                    scan_format=scan.scan_format,
                    sha256=scan.sha256,
                    content=content if scan.status == "captured" else None,
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
