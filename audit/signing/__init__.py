"""Signing and strict verification of the evidence package (the files of output/<QUARTER>/ and their signatures).

identity.py  the signing key and chain: PKCS#12 from AUDIT_SIGNING_KEY, or the demo CA
pdf.py       PAdES certification signature (no changes permitted) on report.pdf
cms.py       detached CMS (DER) for report.html and SHA256SUMS
package.py   signs output/<QUARTER>/ as a whole and writes SHA256SUMS
verify.py    strict verification of a package or one of its files
"""

from audit.signing.cms import sign_detached
from audit.signing.identity import SigningIdentity, demo_identity, load_identity
from audit.signing.package import sign_package
from audit.signing.pdf import sign_pdf
from audit.signing.verify import Check, VerificationReport, verify_path

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
