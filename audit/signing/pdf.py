"""PAdES certification signature on the report PDF.

The signature is a certification (author) signature with DocMDP "no changes permitted",
SHA-256, the whole chain embedded, and an RFC 3161 signature timestamp (PAdES B-T) when a
timestamp authority is configured, then PAdES B-LTA (a DSS and a document timestamp, see
`add_long_term_validation`). pyHanko appends each as an incremental update, so the
unsigned render stays a byte prefix of the signed file.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from audit.signing.cms import DIGEST_ALGORITHM, timestamp_errors_as_usage, timestamper_for
from audit.signing.identity import SigningIdentity, to_asn1

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "AuditEvidenceSignature"
SIGNATURE_REASON = "SOC 2 change-management evidence: certified, no changes permitted"

# Visible stamp: a small box in the bottom-left corner of the last page, below the usual
# page margin, in PDF points (1/72 in).
STAMP_LEFT = 18
STAMP_BOTTOM = 6
STAMP_WIDTH = 300
STAMP_HEIGHT = 30
STAMP_FONT_SIZE = 7
STAMP_TEXT = "Certified by %(signer)s\n%(ts)s \u2014 no changes permitted"

# PDF/A forbids unembedded fonts, so the stamp needs a real font file; these are the
# usual places of fonts that weasyprint itself already depends on.
STAMP_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def sign_pdf(
    unsigned: Path,
    signed: Path,
    identity: SigningIdentity,
    *,
    tsa_url: str | None = None,
    visible: bool = True,
) -> None:
    """Write `signed`: `unsigned` plus a PAdES certification signature (no changes allowed)."""
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm=DIGEST_ALGORITHM,
        reason=SIGNATURE_REASON,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        subfilter=SigSeedSubFilter.PADES,
    )
    stamp_style = _stamp_style(identity.pyhanko_signer().subject_name or "") if visible else None
    with unsigned.open("rb") as source:
        writer = IncrementalPdfFileWriter(source, strict=False)
        if stamp_style is not None:
            field_spec = SigFieldSpec(
                sig_field_name=SIGNATURE_FIELD,
                on_page=-1,
                box=(
                    STAMP_LEFT,
                    STAMP_BOTTOM,
                    STAMP_LEFT + STAMP_WIDTH,
                    STAMP_BOTTOM + STAMP_HEIGHT,
                ),
            )
        else:
            field_spec = SigFieldSpec(sig_field_name=SIGNATURE_FIELD)
        signer = PdfSigner(
            metadata,
            identity.pyhanko_signer(),
            timestamper=timestamper_for(tsa_url),
            stamp_style=stamp_style,
            new_field_spec=field_spec,
        )
        try:
            with signed.open("wb") as target, timestamp_errors_as_usage(tsa_url):
                if tsa_url is None:
                    signer.sign_pdf(writer, output=target)
                else:
                    timestamped = io.BytesIO()
                    signer.sign_pdf(writer, output=timestamped)
                    add_long_term_validation(timestamped, identity, tsa_url, target)
        except BaseException:
            signed.unlink(missing_ok=True)
            raise


def add_long_term_validation(signed: io.BytesIO, identity: SigningIdentity, tsa_url: str, target) -> None:
    """PAdES B-LTA on a B-T signed PDF: a DSS, then a document timestamp over the whole file.

    The DSS holds the signer's chain, the timestamp authority's certificates and whatever
    revocation data the certificates point to (fetched now, while the services answer), so
    the signature can be validated after the certificate has expired or its CA has gone.
    The document timestamp seals that DSS. Both are incremental updates that a certification
    with "no changes permitted" allows; verification accepts nothing else after the signature.
    """
    reader = PdfFileReader(signed, strict=False)
    signature = reader.embedded_regular_signatures[0]
    chain = [to_asn1(cert) for cert in identity.chain]
    context = ValidationContext(
        trust_roots=chain[-1:],
        other_certs=chain,
        allow_fetching=True,
        revocation_mode="soft-fail",
    )
    paths = []
    try:
        validator = CertificateValidator(chain[0], intermediate_certs=chain[1:], validation_context=context)
        paths.append(asyncio.run(validator.async_validate_path()))
    except (PathBuildingError, PathValidationError):
        log.warning("the signing certificate's chain does not validate: DSS holds the certificates only")
    writer = IncrementalPdfFileWriter(signed, strict=False)
    DocumentSecurityStore.supply_dss_in_writer(
        writer,
        None,
        certs=[*chain, *_timestamp_certificates(signature)],
        paths=paths,
        validation_context=context,
    )
    with_dss = io.BytesIO()
    writer.write(with_dss)
    timestamper = timestamper_for(tsa_url)
    assert timestamper is not None
    PdfTimeStamper(timestamper).timestamp_pdf(
        IncrementalPdfFileWriter(with_dss, strict=False), DIGEST_ALGORITHM, output=target
    )


def _timestamp_certificates(signature: EmbeddedPdfSignature) -> list[x509.Certificate]:
    """The certificates inside the signature's RFC 3161 token (the TSA and its chain)."""
    certificates: list[x509.Certificate] = []
    for attribute in signature.signer_info["unsigned_attrs"]:
        if attribute["type"].native == "signature_time_stamp_token":
            for token in attribute["values"]:
                certificates.extend(
                    choice.chosen for choice in token["content"]["certificates"] if choice.name == "certificate"
                )
    return certificates


def _stamp_style(signer_name: str) -> TextStampStyle | None:
    """The visible stamp's style, or None (invisible signature) when no font can be embedded."""
    font_file = _find_stamp_font()
    if font_file is None:
        log.warning("no TrueType font found for the visible signature stamp: signing invisibly")
        return None
    try:
        import uharfbuzz  # noqa: F401  (pyHanko's font embedding shapes text with it)
    except ImportError:
        log.warning("pyHanko's font embedding needs uharfbuzz (pyHanko[opentype]): signing invisibly")
        return None
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(
            font=EmbeddedFontFactory(font_file, STAMP_FONT_SIZE, signer_name), font_size=STAMP_FONT_SIZE
        ),
        border_width=1,
        background=None,
        timestamp_format=STAMP_TIME_FORMAT,
    )


def _find_stamp_font() -> str | None:
    for candidate in STAMP_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    found = subprocess.run(
        [fc_match, "--format=%{file}", "sans-serif:fontformat=TrueType"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return found if found.endswith((".ttf", ".otf")) and Path(found).is_file() else None


@dataclass(frozen=True)
class EmbeddedFontFactory(FontEngineFactory):
    """pyHanko's embedded-subset font engine, fed a copy of the font scaled to 1000 units/em.

    pyHanko 0.38 writes glyph widths in the font's own units, while PDF measures CID font
    glyphs in 1/1000 em; fonts with 2048 units/em (DejaVu, Liberation) come out spaced
    twice too wide. Rescaling the font first makes both agree. Rescaling all of a font's
    glyphs (DejaVu Sans has 6,000) took 8 s, so the font is first cut down to the characters
    the stamp shows: its text, the signing time and the signer's name.
    """

    font_file: str
    font_size: int
    signer_name: str = ""

    def create_font_engine(self, writer, obj_stream=None):
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        # fontTools warns about tables it drops while subsetting (e.g. FFTM); harmless.
        logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
        scaled = io.BytesIO(_stamp_font(self.font_file, frozenset(self.signer_name)))
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(writer=writer, font_handle=scaled, font_size=self.font_size, obj_stream=obj_stream)


STAMP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
STAMP_CHARACTERS = frozenset(
    STAMP_TEXT.replace("%(signer)s", "").replace("%(ts)s", "").replace("\n", "")
    + re.sub(r"%[A-Za-z]", "", STAMP_TIME_FORMAT)
    + "0123456789"
)
"""What the stamp shows besides the signer's name: its text and the signing time's digits.
Every other glyph is cut away, so cutting and rescaling the font takes a few milliseconds."""


@functools.cache
def _stamp_font(font_file: str, signer_characters: frozenset[str]) -> bytes:
    """The font file cut down to the stamp's characters, rescaled to 1000 units/em."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(font_file)
    # A stamp is a few lines of plain text: no ligatures, kerning or hinting to keep. The
    # layout tables are removed before the cut, which would otherwise parse them whole
    # (0.5 s of the 0.57 s the cut took for DejaVu Sans).
    for tag in ("GSUB", "GPOS", "GDEF", "kern"):
        if tag in font:
            del font[tag]
    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = []
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(STAMP_CHARACTERS | signer_characters)))
    subsetter.subset(font)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    scaled = io.BytesIO()
    font.save(scaled)
    return scaled.getvalue()
