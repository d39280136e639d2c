"""The pyHanko signer every signature of a package is made with (PDF, CMS).

Kept apart from identity.py, which loads keys with `cryptography` alone: importing pyHanko
takes about 0.4 s, which `soc2-audit report` spends while the PDF is drawn, not before its
capture.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import SimpleSigner


class LoadedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner, signing with the key object already loaded.

    SimpleSigner loads its private key from DER for every signature, and loading an RSA key
    validates it: 0.18 s for RSA-3072, several times per package (the PDF signature, its
    size estimate, report.html, SHA256SUMS). The identity's key was validated once when it
    was loaded. Mechanisms other than RSA PKCS#1 v1.5 go to SimpleSigner unchanged."""

    def __init__(self, *, loaded_key: object, **kwargs) -> None:
        super().__init__(**kwargs)
        self._loaded_key = loaded_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if isinstance(self._loaded_key, rsa.RSAPrivateKey) and mechanism.signature_algo == "rsassa_pkcs1v15":
            return self._loaded_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        return super().sign_raw(data, digest_algorithm)
