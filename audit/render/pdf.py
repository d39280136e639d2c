"""report.pdf: tagged PDF/A-3a from the report templates, with population.csv, population.xlsx
and findings.json inside.

Everything in the report comes from GitHub and is untrusted, so WeasyPrint gets a URL
fetcher that refuses every URL except `data:` and no base URL: nothing the document says
can make us read a local file or call a server. Refusals are counted and logged once by us;
WeasyPrint's own per-resource log lines are held back while it renders.

Deterministic: the same findings give the same bytes. Dates (document info, XMP and the
attachments' CreationDate/ModDate) are all `generated_at`; the PDF/A file identifier is an
MD5 of the content (pydyf). Font subsets are the one place a clock leaks in: fontTools
stamps each subset's `head.modified` with the current time unless `SOURCE_DATE_EPOCH` is
set (the Reproducible Builds convention), so it is set to
`generated_at` while WeasyPrint writes, and restored afterwards.

WeasyPrint costs about 0.2 s and 6 MB per page, so the PDF prints population rows only up
to `population_pdf_limit` (none by default: a count per repository), each long list up to
`table_pdf_limit` rows, and the exceptions beyond as a brief index of run ids, each with a
sentence pointing to the attachments and report.html, which hold everything.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

import pydyf
import weasyprint
import weasyprint.document
from weasyprint.urls import URLFetcher

from audit.render.html import pdf_html
from audit.render.tables import findings_json_bytes, population_csv_bytes
from audit.render.workbook import population_xlsx_bytes

LOG = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3a"
"""PDF/A-3 is the archival profile that allows non-PDF embedded files; level A ("accessible")
adds a tagged structure (headings, tables with header cells, figures with alternative text)
in logical reading order, with the document's language and title, on top of level B."""


class ExternalResourceRefused(Exception):
    """A URL the report referenced; WeasyPrint treats it as a failed fetch."""


class DataOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves `data:` URIs and refuses everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):
            self.refused.append(url)
            raise ExternalResourceRefused(f"external resource refused: {url[:200]}")
        return super().fetch(url, headers)


class _HoldBack(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return False


@contextmanager
def _source_date_epoch(moment: datetime):
    """`SOURCE_DATE_EPOCH` = `moment` for the duration of the block, then as it was."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.replace(tzinfo=UTC).timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


STREAM_COMPRESSION_LEVEL = 1
"""zlib's fastest level for the PDF's streams. pydyf, WeasyPrint's PDF writer, always uses
level 9. At 10,000 deployments drawing and writing the PDF took 5.7-5.9 s of CPU at level 6
and 4.8-4.9 s at level 1, for a file of 7.3 MB instead of 6.1 MB (level 9 saves 4 % more):
the PDF is the longest task of the render, and a megabyte more to download costs nobody a
second."""


class _ZlibAtLevel:
    """The zlib module, except that `compressobj` compresses at `level` whatever it is asked."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.used = 0

    def __getattr__(self, name: str) -> object:
        return getattr(zlib, name)

    def compressobj(self, level: int = -1, *args, **kwargs):
        self.used += 1
        return zlib.compressobj(self.level, *args, **kwargs)


@contextmanager
def _stream_compression(level: int):
    """pydyf compresses the PDF's streams at `level` for the duration of the block.

    pydyf has no setting for it, so its module's `zlib` is swapped for one that compresses at
    `level`, and put back afterwards. tests/render/test_pdf.py checks the swap still reaches
    pydyf's streams: if a pydyf release stops calling `zlib.compressobj`, it fails."""
    original = pydyf.zlib
    pydyf.zlib = _ZlibAtLevel(level)
    try:
        yield pydyf.zlib
    finally:
        pydyf.zlib = original


_PAGE_REFERENCES: property = pydyf.PDF.page_references


def _page_references_once(pdf: pydyf.PDF) -> tuple:
    """`pydyf.PDF.page_references`, built once per page count instead of at every call."""
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_soc2_page_references")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), _PAGE_REFERENCES.__get__(pdf))
        pdf.__dict__["_soc2_page_references"] = cached
    return cached[1]


@contextmanager
def _page_references_cached():
    """pydyf rebuilds its tuple of every page's reference each time WeasyPrint asks for one
    page's, which the tagging does for each structure element: pages x elements, 870,000
    references built at 10,000 deployments (81 pages), more with every page and element.

    For the duration of the block the tuple is kept until a page is added, then put back.
    The tuple depends only on the pages' list, which pydyf only appends to."""
    original = pydyf.PDF.page_references
    pydyf.PDF.page_references = property(_page_references_once)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original


_LAST_PAGE = "_soc2_last_page"


def _content_set(stream: pydyf.Stream, data: bytes, *, deflated: bool) -> None:
    """`stream`'s content made `data`, which pydyf writes as it is; deflated data gets its
    filter where pydyf would put it (after the dictionary's other keys, before Length)."""
    stream.stream, stream.compress = [data], False
    if deflated:
        stream.extra["Filter"] = "/FlateDecode"


def _compressed_now(stream: pydyf.Stream) -> None:
    """`stream` serialised and compressed as pydyf would at writing time, its operators let go."""
    if not stream.compress:
        return
    compressor = zlib.compressobj(STREAM_COMPRESSION_LEVEL)
    data = b"\n".join(pydyf._to_bytes(item) for item in stream.stream)
    _content_set(stream, compressor.compress(data) + compressor.flush(), deflated=True)


@contextmanager
def _pages_compressed_as_drawn():
    """Each page's content stream compressed as soon as the page is drawn, not when the PDF is
    written.

    WeasyPrint keeps every drawing operator of every page as a small bytes object in a list
    until pydyf writes the PDF: at 50,000 deployments (239 pages) the drawn pages took 67 MB
    more than the layout, 41 MB compressed as drawn, while the render's own process may still
    hold the findings. WeasyPrint
    draws a page after adding it to the PDF, so when the next page is added the previous
    one is complete: for the duration of the block its content stream is then serialised and
    compressed exactly as pydyf would (tests/render/test_pdf.py compares the bytes). The last
    page is left to pydyf."""
    original = pydyf.PDF.add_page

    def add_page(pdf: pydyf.PDF, page: pydyf.Dictionary) -> None:
        drawn = pdf.__dict__.get(_LAST_PAGE)
        if drawn is not None:
            _compressed_now(pdf.objects[int(drawn["Contents"].split()[0])])
        original(pdf, page)
        pdf.__dict__[_LAST_PAGE] = page

    pydyf.PDF.add_page = add_page
    try:
        yield
    finally:
        pydyf.PDF.add_page = original


_STREAM_DATA: property = pydyf.Stream.data
_KEPT_DATA = "_soc2_data"


def _data_kept(stream: pydyf.Stream) -> bytes:
    """`pydyf.Stream.data`, serialised (and compressed) the first time it is asked for, then
    kept in place of the stream's content: the content is let go, as the stream is written
    once, and pydyf's hashing of every object for the identifier joins the kept bytes
    instead of a fresh copy of each (measured alone at 50,000 deployments, the PDF
    process's peak hardly moved, 440 → 431 MB: the copies' memory stayed in the process as
    freed heap until `audit.allocator` returned large buffers to the system)."""
    kept = stream.__dict__.get(_KEPT_DATA)
    if kept is None:
        kept = stream.__dict__[_KEPT_DATA] = _STREAM_DATA.__get__(stream)
        stream.stream = []
    return kept


@contextmanager
def _streams_serialised_once():
    """pydyf serialises and compresses every stream twice when it writes a PDF with a file
    identifier, which PDF/A requires: once to write the stream, once more to hash every
    object for the identifier: every page's drawing operators converted to bytes again, every
    attachment compressed again. Under cProfile, pydyf's writing at 10,000 deployments took
    3.2 s, and 1.35 s with each stream's bytes kept.

    For the duration of the block, while pydyf writes a PDF (when every stream is complete),
    each stream's bytes are kept from the first time to the second, then let go: a PDF
    object written this way is written once (WeasyPrint makes new ones for every PDF)."""
    original_write = pydyf.PDF.write

    def write(pdf: pydyf.PDF, *args, **kwargs):
        data = pydyf.Stream.data
        pydyf.Stream.data = property(_data_kept)
        try:
            return original_write(pdf, *args, **kwargs)
        finally:
            pydyf.Stream.data = data
            for written in pdf.objects:
                written.__dict__.pop(_KEPT_DATA, None)

    pydyf.PDF.write = write
    try:
        yield
    finally:
        pydyf.PDF.write = original_write


@contextmanager
def _quiet_weasyprint():
    """Hold back WeasyPrint's log lines while it renders; pass them on at DEBUG level."""
    loggers = [logging.getLogger("weasyprint"), logging.getLogger("weasyprint.progress")]
    held = _HoldBack()
    for logger in loggers:
        logger.addFilter(held)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(held)
        for record in held.records:
            LOG.debug("weasyprint: %s", record.getMessage())


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class LaidOut:
    """A report laid out in pages, not yet written: layout needs only the findings, so it can
    run while population.xlsx is still being written elsewhere."""

    document: weasyprint.document.Document
    fetcher: DataOnlyFetcher
    generated_at: datetime


def lay_out_html(html_text: str, generated_at: str) -> LaidOut:
    """`html_text` (from `pdf_html`) laid out by WeasyPrint, tagged for PDF/A-3a; `generated_at`
    (ISO 8601) dates the document and its attachments."""
    fetcher = DataOnlyFetcher()
    with _quiet_weasyprint():
        document = weasyprint.HTML(string=html_text, url_fetcher=fetcher, base_url=None).render(
            pdf_variant=PDF_VARIANT, pdf_tags=True
        )
    return LaidOut(document, fetcher, _utc(generated_at))


def lay_out(findings: dict, *, population_pdf_limit: int = 0, table_pdf_limit: int = 25) -> LaidOut:
    """The PDF's HTML (long lists cut to their limits) laid out by WeasyPrint, tagged for PDF/A-3a."""
    html_text = pdf_html(findings, population_pdf_limit=population_pdf_limit, table_pdf_limit=table_pdf_limit)
    return lay_out_html(html_text, findings["generated_at"])


class Chunked(Protocol):
    """An attachment read piece by piece (a file, perhaps still being written elsewhere)."""

    def chunks(self) -> Iterable[bytes]:
        """The attachment's bytes in order, waiting for them if need be."""

    def ready(self) -> bool:
        """Whether `chunks` would not wait."""


Attachable = bytes | Chunked


ATTACHMENT_CHUNK = 1 << 20
"""Bytes of an attachment read and compressed at a time."""


STORED_AS_IS = frozenset({"population.xlsx"})
"""Attachments put into the PDF without compressing them again: population.xlsx is a zip
archive already (deflating it again took 0.17 s at 10,000 deployments and 0.84 s at 50,000,
in the PDF process's last step, to save 9 %: 0.4 and 2.3 MB)."""


@dataclass
class _Embedded:
    """What an attachment becomes inside the PDF: its bytes, compressed as pydyf compresses a
    stream (`STREAM_COMPRESSION_LEVEL`) unless `compress` is false, their MD5 and their size."""

    data: bytes
    md5: str
    size: int

    @classmethod
    def of(cls, content: Attachable, *, compress: bool = True) -> _Embedded:
        compressor = zlib.compressobj(STREAM_COMPRESSION_LEVEL) if compress else None
        digest = hashlib.md5(usedforsecurity=False)
        size, parts = 0, []
        for chunk in [content] if isinstance(content, bytes) else content.chunks():
            digest.update(chunk)
            size += len(chunk)
            parts.append(chunk if compressor is None else compressor.compress(chunk))
        if compressor is not None:
            parts.append(compressor.flush())
        return cls(b"".join(parts), digest.hexdigest(), size)


class _EmbeddedPieceByPiece:
    """The attachments put into the PDF compressed, never whole in memory.

    WeasyPrint reads an attachment whole, keeps it until the PDF is written and compresses it
    then: at 50,000 deployments findings.json alone is 109 MB. WeasyPrint is given a
    placeholder for each attachment instead (it makes the file specification, the PDF/A-3
    relationship, the embedded-file stream), and this finisher, called by WeasyPrint once
    the pages are drawn, puts in each stream the attachment read piece by piece, compressed
    (but `STORED_AS_IS`), with its MD5 and size, as pydyf would have written it: the same
    bytes (tests/render/test_pdf.py). At 50,000 deployments the attachments are 149 MB and
    the whole PDF, attachments included, 42 MB. The finisher is also where the PDF process
    waits for the attachments still being written."""

    def __init__(self, contents: dict[str, Attachable]) -> None:
        self.placeholders = {_placeholder(name): (name, content) for name, content in contents.items()}

    def attachment(self, name: str) -> io.BytesIO:
        return io.BytesIO(_placeholder(name))

    def __call__(self, document: object, pdf: pydyf.PDF) -> None:
        pending = [
            (stream, self.placeholders[stream.stream[0]])
            for stream in pdf.objects
            if isinstance(stream, pydyf.Stream) and stream.extra.get("Type") == "/EmbeddedFile"
        ]
        while pending:
            # The attachments already written first: the PDF process compresses them while the
            # render still writes the others (at 50,000 deployments it waits for population.xlsx).
            stream, (name, content) = next((item for item in pending if _ready(item[1][1])), pending[0])
            pending.remove((stream, (name, content)))
            deflated = name not in STORED_AS_IS
            embedded = _Embedded.of(content, compress=deflated)
            stream.extra["Params"]["CheckSum"] = f"<{embedded.md5}>"
            stream.extra["Params"]["Size"] = embedded.size
            _content_set(stream, embedded.data, deflated=deflated)


def _placeholder(name: str) -> bytes:
    """What WeasyPrint embeds for attachment `name` until the finisher puts the attachment in."""
    return f"soc2-audit attachment {name}".encode()


def _ready(content: Attachable) -> bool:
    return isinstance(content, bytes) or content.ready()


def write(
    laid_out: LaidOut,
    *,
    population_csv: Attachable,
    findings_json: Attachable,
    population_xlsx: Attachable,
    target: BinaryIO | None = None,
) -> bytes | None:
    """The unsigned report.pdf from its layout, with the three attachments inside: returned,
    or written to `target`.

    An attachment may be read piece by piece (`Chunked`) instead of given as bytes: it is
    read after the pages are drawn, so a file another process is still writing can be waited
    for then, and it is never whole in memory."""
    fetcher, stamp = laid_out.fetcher, laid_out.generated_at
    embedding = _EmbeddedPieceByPiece(
        {"population.csv": population_csv, "population.xlsx": population_xlsx, "findings.json": findings_json}
    )

    def attachment(name: str, description: str) -> weasyprint.Attachment:
        return weasyprint.Attachment(
            file_obj=embedding.attachment(name),
            url_fetcher=fetcher,
            name=name,
            description=description,
            created=stamp,
            modified=stamp,
            relationship="Data",
        )

    attachments = [
        attachment("population.csv", "One row per deployment with its verdicts"),
        attachment("population.xlsx", "The population and each control's exceptions as a spreadsheet"),
        attachment("findings.json", "Every verdict, setting and completeness record"),
    ]
    with (
        _quiet_weasyprint(),
        _source_date_epoch(stamp),
        _stream_compression(STREAM_COMPRESSION_LEVEL),
        _page_references_cached(),
        _pages_compressed_as_drawn(),
        _streams_serialised_once(),
    ):
        pdf = laid_out.document.write_pdf(
            target, pdf_variant=PDF_VARIANT, pdf_tags=True, attachments=attachments, finisher=embedding
        )
    if fetcher.refused:
        LOG.warning(
            "refused %d external resource(s) referenced by the report, first: %s",
            len(fetcher.refused),
            fetcher.refused[0][:200],
        )
    return pdf


def render_pdf(
    findings: dict,
    *,
    population_pdf_limit: int = 0,
    table_pdf_limit: int = 25,
    population_csv: bytes | None = None,
    findings_json: bytes | None = None,
    population_xlsx: bytes | None = None,
) -> bytes:
    """The unsigned report.pdf (tagged PDF/A-3a) with population.csv, population.xlsx and findings.json attached.

    The attachments' bytes are passed when the caller already wrote them (so the attachments
    are the very bytes beside the PDF); else they are built.
    """
    laid_out = lay_out(findings, population_pdf_limit=population_pdf_limit, table_pdf_limit=table_pdf_limit)
    pdf = write(
        laid_out,
        population_csv=population_csv_bytes(findings) if population_csv is None else population_csv,
        findings_json=findings_json_bytes(findings) if findings_json is None else findings_json,
        population_xlsx=population_xlsx_bytes(findings) if population_xlsx is None else population_xlsx,
    )
    assert pdf is not None  # returned, as no target was given
    return pdf
