"""The hashed lock files: every install (Makefile, CI, workflows) takes its versions from them.

`make lock` regenerates them with uv; these tests catch a pyproject.toml change that was not
followed by `make lock`, and a lock that could not be installed with `--require-hashes`.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?: ; (?P<marker>[^\\]+?))? \\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}")


def pins(name: str) -> dict[str, tuple[str, int]]:
    """Package -> (version, number of hashes) in one lock file."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match["name"])
            found[current] = (match["version"], 0)
        elif HASH.match(line) and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
        elif line and not line.lstrip().startswith("#") and not line.startswith(" "):
            pytest.fail(f"{name}: not an exact pin: {line}")
    return found


def project_requirements(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    if extra:
        wanted += project["project"]["optional-dependencies"][extra]
    environment = default_environment()
    return [r for r in map(Requirement, wanted) if r.marker is None or r.marker.evaluate(environment)]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-test.lock", "test")])
def test_the_lock_pins_every_requirement_with_hashes(lock, extra):
    locked = pins(lock)
    assert locked, lock
    for name, (version, hashes) in locked.items():
        assert hashes >= 1, f"{lock}: {name}=={version} has no hash"
    for requirement in project_requirements(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"{lock} pins {name}=={locked[name][0]}, pyproject.toml wants {requirement}: run `make lock`"
        )


def test_tests_run_on_the_same_versions_as_production():
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert {name: runtime[name][0] for name in runtime} == {name: test[name][0] for name in runtime}


def test_the_makefile_installs_only_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "-m pip install" in line]
    assert installs, "the Makefile installs something"
    for line in installs:
        if "browse" in line:  # optional Datasette viewer, never in CI nor near a secret
            continue
        assert "--require-hashes" in line or "--no-deps" in line and "--no-index" in line, line
        assert "--upgrade" not in line, line
