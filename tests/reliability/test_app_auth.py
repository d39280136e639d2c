"""GitHub App installation auth through PyGithub: the token is minted and refreshed by itself.

A `create-github-app-token` token dies after an hour, in the middle of a capture that waits
for rate-limit resets. With AUDIT_APP_ID and AUDIT_APP_PRIVATE_KEY the CLI authenticates as
the App's installation (PyGithub's AppInstallationAuth), which mints a new installation token
before the old one expires. Here tokens live 20 s, which PyGithub (it renews 20 s early)
treats as spent at once, whatever the machine's speed: every request renews the token, and
the capture still equals a clean one.
"""

from __future__ import annotations

import sqlite3

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from audit.demo.fakegithub import FakeGitHub
from audit.demo.fakegithub.server import GitHubApp
from tests.conftest import run_cli
from tests.reliability.helpers import QUARTER, REPOSITORY, cli_env, evaluate, evidence, verdicts


def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_an_app_installation_token_is_refreshed_during_the_capture(world, clean, tmp_path):
    private, public = app_key()
    db_path = tmp_path / "evidence.db"
    app = GitHubApp(app_id=31337, public_key_pem=public, token_lifetime=20)
    with FakeGitHub(world, app=app) as server:
        env = cli_env(tmp_path, server.base_url, token="", AUDIT_APP_ID="31337", AUDIT_APP_PRIVATE_KEY=private)
        result = run_cli(
            "extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, "--db", str(db_path),
            cwd=tmp_path, env=env, timeout=300,
        )  # fmt: skip
        refused = [r for r in server.requests if r.status == 401]
        minted = server.installation_tokens_minted
    assert result.returncode == 0, result.stderr
    assert not refused, "no request went out with an expired token"
    assert minted >= 2, "the installation token was renewed during the capture"
    evaluate(db_path)
    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]
    secret_line = private.splitlines()[1]
    assert secret_line not in result.stderr + result.stdout
    with sqlite3.connect(db_path) as conn:
        dump = "\n".join(conn.iterdump())
    assert secret_line not in dump and "ghs_" not in dump


def test_a_wrong_app_key_is_one_line_and_exit_2(world, tmp_path):
    private, _ = app_key()
    _, other_public = app_key()
    with FakeGitHub(world, app=GitHubApp(app_id=31337, public_key_pem=other_public)) as server:
        env = cli_env(tmp_path, server.base_url, token="", AUDIT_APP_ID="31337", AUDIT_APP_PRIVATE_KEY=private)
        result = run_cli("extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "GitHub App 31337" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
