"""The wheel is complete: built from the source, installed in a fresh venv outside the checkout,
its `soc2-audit` renders the demo's report (templates and data files ship inside the package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "audit", "templates")


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-w", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("soc2_audit-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv holding only the wheel; the dependencies come from the test venv through a .pth file."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A plain path line: the test venv's own .pth files (its editable install of this checkout) stay unread.
    (Path(purelib) / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_every_module_and_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "audit").rglob("*.py")}
    assert modules - names == set(), "a package is missing from pyproject's [tool.setuptools] packages"
    templates = {f"audit/templates/{path.name}" for path in (ROOT / "templates").glob("*.j2")}
    assert templates and templates <= names


def test_the_installed_wheel_renders_the_demo_report(wheel, demo_report, tmp_path):
    target = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = clean_env(tmp_path)
    env.pop("PYTHONPATH", None)  # only the wheel, never a checkout
    where = subprocess.run(
        [target / "bin" / "python", "-c", "import audit; print(audit.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target)), f"audit imported from {where}, not from the wheel"
    shutil.copy(demo_report["db"], work / "evidence.db")
    result = subprocess.run(
        [target / "bin" / "soc2-audit", "render", "--quarter", "2024Q2", "--db", "evidence.db", "--output", "out"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for name in ("report.html", "report.pdf", "findings.json", "population.csv"):
        assert (work / "out" / name).stat().st_size > 0, name
