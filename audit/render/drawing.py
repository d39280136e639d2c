"""report.pdf laid out and drawn in a process of its own, which never holds the findings.

WeasyPrint's layout and drawing are the render's longest single task, and the other four
files take about as long, so the two run side by side on two cores. The PDF process is
forked as the render starts, before the findings exist: it imports WeasyPrint (a second)
while the findings are built here, then receives only the PDF's HTML (about 600 kB at
10,000 deployments, handed over in a temporary file). A worker forked *with* the findings
would copy them, page by page, as it read them (CPython's reference counts write to every
object read): one copy is held, not two.

The PDF embeds findings.json, population.csv and population.xlsx, which this process writes
meanwhile: the PDF process reads each, piece by piece, once the pages are drawn and this
process has said it is written. It writes the PDF to the file it was given (never sending
it back through the pipe: 40 MB at 50,000 deployments, copied three times over); the
render renames that file report.pdf once every other file is written. Where fork is
unavailable, the same work runs here, one step after another, with the same bytes.

    with pdf_drawer() as drawer:
        findings = build_findings(...)
        drawer.lay_out(pdf_html(findings), findings["generated_at"], output / "report.pdf.partial")
        ...write findings.json etc., drawer.attachment_written(name, path) after each...
        drawer.finish()  # report.pdf.partial is complete
"""

from __future__ import annotations

import gc
import multiprocessing
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

from audit.allocator import return_large_buffers
from audit.errors import transportable

ATTACHMENTS = ("findings.json", "population.csv", "population.xlsx")
"""The files the PDF embeds."""


class PdfDrawer(Protocol):
    def lay_out(self, html_text: str, generated_at: str, destination: Path) -> None:
        """Start laying out the PDF's HTML (`audit.render.html.pdf_html`), to be written to
        `destination` once every attachment is written."""

    def attachment_written(self, name: str, path: Path) -> None:
        """`name` (one of `ATTACHMENTS`) is complete at `path`."""

    def finish(self) -> None:
        """Wait until the unsigned PDF is complete at its destination; re-raises its error.
        A drawer that did not finish leaves no file at the destination."""


class PdfProcessFailed(RuntimeError):
    """The PDF process ended without sending a PDF or an error (killed, or out of memory)."""


@contextmanager
def pdf_drawer() -> Iterator[PdfDrawer]:
    """A forked PDF process, stopped when the block ends (with or without its PDF).

    Large buffers go back to the system when freed, in both processes (`audit.allocator`)."""
    return_large_buffers()
    if "fork" not in multiprocessing.get_all_start_methods():
        yield _DrawnHere()
        return
    drawer = _ForkedDrawer()
    try:
        yield drawer
    finally:
        drawer.close()


class _ForkedDrawer:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_draw, args=(theirs,), name="soc2-audit-pdf", daemon=True)
        self._process.start()
        theirs.close()
        self._html_path: Path | None = None
        self._destination: Path | None = None
        self._finished = False

    def lay_out(self, html_text: str, generated_at: str, destination: Path) -> None:
        # Handed over in a file, so that sending never waits for the PDF process (still
        # importing WeasyPrint for a small quarter) to read megabytes from the pipe.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".html", delete=False) as handed_over:
            handed_over.write(html_text)
        self._html_path = Path(handed_over.name)
        self._destination = destination
        self._send(("lay_out", str(self._html_path), generated_at, str(destination)))

    def attachment_written(self, name: str, path: Path) -> None:
        self._send(("written", name, str(path)))

    def _send(self, message: tuple) -> None:
        try:
            self._connection.send(message)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the PDF process has ended: `finish` says how

    def finish(self) -> None:
        try:
            kind, payload = self._connection.recv()
        except (EOFError, ConnectionResetError):
            self._process.join()
            raise PdfProcessFailed(
                f"the PDF process ended without a PDF (exit code {self._process.exitcode})"
            ) from None
        if kind == "error":
            raise payload
        self._finished = True

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()  # the render failed before asking for the PDF
        self._process.join()
        self._connection.close()
        if self._html_path is not None:
            self._html_path.unlink(missing_ok=True)
        if self._destination is not None and not self._finished:
            self._destination.unlink(missing_ok=True)  # a PDF left half written


def _draw(connection: Connection) -> None:
    """The PDF process: import WeasyPrint, lay out what arrives, draw it, write it where told.

    It runs without Python's cycle collector: a layout is hundreds of thousands of boxes
    alive until the PDF is written, which each full collection walked again (at 50,000
    deployments layout and drawing took 14.0 + 10.2 s of CPU with it, 11.1 + 8.4 s without,
    for 11 MB more at the peak); the process ends once the PDF is sent."""
    gc.disable()
    try:
        from audit.render import pdf

        _, html_path, generated_at, destination = connection.recv()
        laid_out = pdf.lay_out_html(Path(html_path).read_text(encoding="utf-8"), generated_at)
        announced = _Announcements(connection)
        with open(destination, "wb") as target:
            pdf.write(
                laid_out,
                population_csv=_AnnouncedFile(announced, "population.csv"),
                findings_json=_AnnouncedFile(announced, "findings.json"),
                population_xlsx=_AnnouncedFile(announced, "population.xlsx"),
                target=target,
            )
        connection.send(("written", destination))
    except (EOFError, ConnectionResetError):
        return  # the render stopped before sending everything: it has its own error to show
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the render
        connection.send(("error", transportable(error)))


class _Announcements:
    """The attachments' paths, as the render says each is written."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.paths: dict[str, Path] = {}

    def path(self, name: str) -> Path:
        while name not in self.paths:
            self._receive()
        return self.paths[name]

    def written(self, name: str) -> bool:
        """Whether `name` is said to be written, without waiting."""
        while name not in self.paths and self.connection.poll():
            self._receive()
        return name in self.paths

    def _receive(self) -> None:
        _, written, path = self.connection.recv()
        self.paths[written] = Path(path)


class _AnnouncedFile:
    """An attachment read when the PDF embeds it, piece by piece: waits until the file is written."""

    def __init__(self, announced: _Announcements, name: str) -> None:
        self.announced, self.name = announced, name

    def chunks(self) -> Iterator[bytes]:
        return _chunks_of(self.announced.path(self.name))

    def ready(self) -> bool:
        return self.announced.written(self.name)


def _chunks_of(path: Path) -> Iterator[bytes]:
    from audit.render.pdf import ATTACHMENT_CHUNK

    with path.open("rb") as attached:
        while chunk := attached.read(ATTACHMENT_CHUNK):
            yield chunk


class _FileAttachment:
    def __init__(self, path: Path) -> None:
        self.path = path

    def chunks(self) -> Iterator[bytes]:
        return _chunks_of(self.path)

    def ready(self) -> bool:
        return True


class _DrawnHere:
    """Without fork: the same steps in this process."""

    def __init__(self) -> None:
        self._laid_out: object = None
        self._destination: Path | None = None
        self._paths: dict[str, Path] = {}

    def lay_out(self, html_text: str, generated_at: str, destination: Path) -> None:
        from audit.render import pdf

        self._laid_out = pdf.lay_out_html(html_text, generated_at)
        self._destination = destination

    def attachment_written(self, name: str, path: Path) -> None:
        self._paths[name] = path

    def finish(self) -> None:
        from audit.render import pdf

        assert isinstance(self._laid_out, pdf.LaidOut) and self._destination is not None
        try:
            with self._destination.open("wb") as target:
                pdf.write(
                    self._laid_out,
                    population_csv=_FileAttachment(self._paths["population.csv"]),
                    findings_json=_FileAttachment(self._paths["findings.json"]),
                    population_xlsx=_FileAttachment(self._paths["population.xlsx"]),
                    target=target,
                )
        except BaseException:
            self._destination.unlink(missing_ok=True)
            raise
