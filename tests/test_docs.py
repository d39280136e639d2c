"""The docs describe the tree as it is: the README's layout table and the store's tables in
docs/architecture.md are checked against the files and the table declarations; comments
point at nothing outside the repository."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from token import COMMENT
from typing import get_args

import pytest

from audit.merge import MERGE_TABLES
from audit.seal import SEAL_TABLES
from audit.store import TABLES, Kind, tables_of

ROOT = Path(__file__).resolve().parent.parent
KINDS: tuple[Kind, ...] = get_args(Kind)


def markdown_table(text: str, header: str) -> list[list[str]]:
    """The cells of each body row of the Markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def layout_paths() -> list[Path]:
    """Every file or directory the README's layout table names: `audit/x.py`, `audit/x/`, and
    a bare `name.py` after a directory, which it lies in."""
    paths = []
    for _stage, code in markdown_table((ROOT / "README.md").read_text(), "| stage | code |"):
        directory = None
        for span in code_spans(code):
            if "/" in span:
                paths.append(ROOT / span)
                directory = span if span.endswith("/") else directory
            elif directory and re.fullmatch(r"\w+\.(py|toml|sql)", span):
                paths.append(ROOT / directory / span)
    return paths


def test_every_path_in_the_readme_layout_exists():
    paths = layout_paths()
    assert len(paths) > 30
    missing = [str(path.relative_to(ROOT)) for path in paths if not any(path.parent.glob(path.name))]
    assert not missing


def test_every_module_and_package_of_audit_is_in_the_readme_layout():
    named = {"/".join(path.relative_to(ROOT).parts[:2]) for path in layout_paths()}
    present = {
        f"audit/{entry.name}"
        for entry in (ROOT / "audit").iterdir()
        if not entry.name.startswith("__") and (entry.suffix == ".py" or (entry / "__init__.py").exists())
    }
    assert sorted(present - named) == []


@pytest.mark.parametrize("kind", KINDS)
def test_architecture_lists_each_kind_of_table_as_declared(kind):
    rows = markdown_table((ROOT / "docs" / "architecture.md").read_text(), "| kind | tables |")
    documented = {row[0]: {span for span in code_spans(row[1]) if span.isidentifier()} for row in rows}
    declared = set(tables_of(kind)) | {
        name for name, table in (SEAL_TABLES | MERGE_TABLES).items() if table.kind == kind
    }
    assert documented.get(kind) == declared


def test_architecture_names_every_kind():
    rows = markdown_table((ROOT / "docs" / "architecture.md").read_text(), "| kind | tables |")
    assert [row[0] for row in rows] == list(KINDS)
    assert {table.kind for table in TABLES.values()} <= set(KINDS)


def comments_and_docstrings(path: Path) -> list[str]:
    """The comments and docstrings of one Python file."""
    source = path.read_text()
    texts = [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type == COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            texts.append(ast.get_docstring(node) or "")
    return texts


def test_comments_point_at_no_document_outside_the_repository():
    """URLs in comments may show what GitHub's data looks like, never send the reader elsewhere."""
    addresses = re.compile(r"https?://[^\s)`'\"]+")
    allowed = re.compile(
        r"https?://(127\.0\.0\.1|localhost|github\.com/(\{|\.\.\.)|api\.github\.com/?$|[\w.-]+\.example/)"
    )
    outside = [
        f"{path.relative_to(ROOT)}: {address}"
        for folder in ("audit", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for text in comments_and_docstrings(path)
        for address in addresses.findall(text)
        if not allowed.match(address)
    ]
    assert outside == []
