"""soc2-audit: a quarter of GitHub Actions production deployments as signed SOC 2 evidence.

The pipeline, one module (or package) per stage:

    extract/   GitHub REST (PyGithub) -> rows in the evidence store
    store.py   the SQLite evidence store (sqlite-utils)
    controls/  stored rows -> verdicts, pure functions with their text as data
    evaluate.py assembles each deployment's evidence from the store and runs the controls
    render/    verdicts + evidence -> HTML, tagged PDF/A-3a, CSV, XLSX, JSON
    signing/   PAdES, detached CMS, SHA256SUMS, and the strict verifier
"""

__version__ = "0.1.0"
