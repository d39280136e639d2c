"""Signing and strict verification of the evidence package (the files of output/<QUARTER>/ and their signatures).

identity.py  the signing key and chain: PKCS#12 from AUDIT_SIGNING_KEY, or the demo CA
signer.py    the pyHanko signer made from an identity
pdf.py       PAdES certification signature (no changes permitted) on report.pdf
cms.py       detached CMS (DER) for report.html and SHA256SUMS
package.py   signs output/<QUARTER>/ as a whole and writes SHA256SUMS
verify.py    strict verification of a package or one of its files

The names below are imported on first use: `load_identity` needs only `cryptography`, and
`soc2-audit report` loads the key before its capture (to fail before spending API
requests) but imports pyHanko (about 0.4 s) only while the PDF is drawn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.signing.cms import sign_detached
    from audit.signing.identity import SigningIdentity, demo_identity, load_identity
    from audit.signing.package import sign_package
    from audit.signing.pdf import sign_pdf
    from audit.signing.verify import Check, VerificationReport, verify_path

_WHERE = {
    "Check": "verify",
    "SigningIdentity": "identity",
    "VerificationReport": "verify",
    "demo_identity": "identity",
    "load_identity": "identity",
    "sign_detached": "cms",
    "sign_package": "package",
    "sign_pdf": "pdf",
    "verify_path": "verify",
}

__all__ = [
    "Check",
    "SigningIdentity",
    "VerificationReport",
    "demo_identity",
    "load_identity",
    "sign_detached",
    "sign_package",
    "sign_pdf",
    "verify_path",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
