"""Detached CMS signatures (DER) for files that are not PDFs: report.html and SHA256SUMS.

An auditor checks one with no Python at all:
`openssl cms -verify -binary -inform DER -in X.p7s -content X -CAfile signer.pem -purpose any`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path

from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper

from audit.errors import UsageError
from audit.signing.identity import SigningIdentity

DIGEST_ALGORITHM = "sha256"


def timestamper_for(tsa_url: str | None) -> HTTPTimeStamper | None:
    """An RFC 3161 client for `tsa_url`, or None when no timestamp authority is configured."""
    return HTTPTimeStamper(tsa_url, timeout=30) if tsa_url else None


@contextlib.contextmanager
def timestamp_errors_as_usage(tsa_url: str | None):
    """Turn a TSA that does not answer into one clear line naming AUDIT_TSA_URL."""
    try:
        yield
    except TimestampRequestError as err:
        raise UsageError(f"timestamp authority {tsa_url} (AUDIT_TSA_URL) did not answer: {err}") from None


def sign_detached(path: Path, identity: SigningIdentity, *, tsa_url: str | None = None) -> Path:
    """Write `path` + ".p7s": a detached CMS signature over `path`, DER-encoded.

    The signature carries the signer's chain and a signing-time attribute, plus an RFC 3161
    signature timestamp when `tsa_url` is given.
    """
    signature_path = path.with_name(path.name + ".p7s")
    signer = identity.pyhanko_signer()
    with path.open("rb") as content, timestamp_errors_as_usage(tsa_url):
        content_info = asyncio.run(
            signer.async_sign_general_data(
                content,
                DIGEST_ALGORITHM,
                detached=True,
                timestamper=timestamper_for(tsa_url),
                signed_attr_settings=PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC)),
            )
        )
    signature_path.write_bytes(content_info.dump())
    return signature_path
