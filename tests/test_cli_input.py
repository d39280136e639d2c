"""Bad input gets one clear line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import clean_env, run_cli


@pytest.mark.parametrize(
    ("args", "extra_env", "config", "expected"),
    [
        (["report", "--quarter", "2024Q5"], {}, None, "invalid period '2024Q5'"),
        (["extract", "--quarter", "24Q1"], {}, None, "invalid period '24Q1'"),
        (["extract", "--quarter", "2024Q2", "--repo", "not a repo"], {}, None, "invalid repository 'not a repo'"),
        (
            ["report", "--quarter", "2024Q2"],
            {"GITHUB_TOKEN": "ghp_canary0123456789"},
            None,
            "GITHUB_TOKEN is set but no repository is configured",
        ),
        (["report", "--quarter", "2024Q2"], {}, "colour = 'blue'\n", "unknown key 'colour'"),
        (["report", "--quarter", "2024Q2"], {}, "required_approvers = 'two'\n", "required_approvers must be"),
        (["report", "--quarter", "2024Q2"], {}, "max_severity = 'severe'\n", "max_severity must be one of"),
        (["report", "--quarter", "2024Q2"], {}, "timezone = 'Mars/Olympus'\n", "unknown time zone"),
        (["report", "--quarter", "2024Q2"], {}, "repositories = [\n", "not valid TOML"),
        (["evaluate", "--quarter", "2024Q2", "--db", "missing.db"], {}, None, "does not exist"),
        (["evaluate", "--period", "2024H3"], {}, None, "invalid period '2024H3'"),
        (["evaluate", "--period", "2024-02-30..2024-03-31"], {}, None, "not a calendar date"),
        (["render", "--period", "2024-06-30..2024-01-01"], {}, None, "the last day is before the first"),
        (["verify", "no/such/dir"], {}, None, "does not exist"),
        (["report"], {}, None, "Missing option '--period'"),
        (["frobnicate"], {}, None, "No such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, extra_env, config, expected):
    if config is not None:
        (tmp_path / "audit.toml").write_text(config)
    result = run_cli(*args, cwd=tmp_path, env=clean_env(tmp_path, **extra_env), timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert "ghp_canary0123456789" not in result.stderr + result.stdout


def test_every_command_has_help(tmp_path):
    from audit.cli import cli

    for name, command in cli.commands.items():
        assert command.help and "Example" in command.help, name
        result = run_cli(name, "--help", cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
        assert result.returncode == 0 and "Usage" in result.stdout, name


@pytest.mark.parametrize("github_imported", [True, False])
def test_a_github_error_is_one_line_whether_or_not_pygithub_was_imported(
    github_imported, monkeypatch, capsys, tmp_path
):
    """The CLI imports PyGithub only for the commands that talk to GitHub, and still names
    a GitHub error as one; any other error is an internal error, never a traceback."""
    import sys

    from github import GithubException

    from audit import cli, pipeline

    monkeypatch.chdir(tmp_path)
    error = GithubException(502, {"message": "Server Error"}) if github_imported else ValueError("no GitHub here")
    if not github_imported:
        monkeypatch.delitem(sys.modules, "github")

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "evaluate", failing)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "--quarter", "2024Q2"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 1 and len(lines) == 1
    expected = "GitHub answered HTTP 502: Server Error" if github_imported else "internal error: ValueError"
    assert expected in lines[0]


def test_start_up_leaves_pygithub_and_weasyprint_to_the_commands_that_use_them():
    """`soc2-audit evaluate` needs neither; `render` imports WeasyPrint only once its worker is
    forked (a second of imports spent beside the worker, tests/render/test_pdf.py covers the
    render itself)."""
    import subprocess
    import sys

    probe = "import sys, audit.cli, audit.render; print(sorted({'github', 'weasyprint'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
