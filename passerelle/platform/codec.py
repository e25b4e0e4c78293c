"""Payload encryption: an AES-256-GCM `PayloadCodec` with key ids, so keys can be rotated.

Every payload the SDK sends to Temporal (workflow input, update arguments and results, activity
inputs and results, query answers, memo, user metadata) goes through the codec of the one client
factory (`passerelle.platform.client`), so Temporal's history and the Web UI hold only ciphertext.

Keys come from `PASSERELLE_ENCRYPTION_KEYS="kid1:base64key,kid0:base64key"`: the first encrypts,
every one decrypts, so a rotation is "prepend the new key, keep the old ones until no open history
needs them". Each encrypted payload names its key id in its metadata. Payloads that were never
encrypted (history written before encryption was switched on) pass through untouched.
"""

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from passerelle.platform.keys import EncryptionConfigError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12  # the size AES-GCM is specified for (NIST SP 800-38D)
# A client may seal a payload that is sealed already: the Temporal CLI, when the update it sent
# reaches a run that continues-as-new, retries the request with its input encoded through the
# codec server a second time. Decoding opens every layer (each authenticated under our keys), up
# to this many, so that update lands like any other.
MAX_LAYERS = 4
# `pk:<master key id>:<programme>`: a programme's key (`EncryptionCodec.programme_cipher`). A
# master key id cannot hold ":" (`parse_keys`), so labels never clash.
PROGRAMME_KEY_PREFIX = "pk:"


def sealed(payload: Payload) -> bool:
    """Return True when `payload` is encrypted by one of Passerelle's codecs."""
    return payload.metadata.get("encoding") == ENCODING


class UnknownKeyError(ValueError):
    """A payload names a key id the configured keys do not hold."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        self.key_id = key_id
        have = f"known: {', '.join(known)}" if known else "none is set"
        super().__init__(
            f"payload encrypted with key {key_id!r}, which is not in PASSERELLE_ENCRYPTION_KEYS ({have})"
        )


class DataKeysNeeded(UnknownKeyError):
    """A payload sealed with a collaboration's data key, read by a process without the key store."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        ValueError.__init__(
            self,
            f"payload sealed with the collaboration data key {key_id.removeprefix('dk:')}: "
            "set PASSERELLE_DATABASE_URL so that this process reads the data keys (docs/privacy.md)",
        )


def new_key() -> str:
    """Return a fresh random 256-bit key, base64-encoded, ready for PASSERELLE_ENCRYPTION_KEYS."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


@dataclass(frozen=True)
class EncryptionCodec(PayloadCodec):
    """Encrypt with the first key, decrypt with whichever key the payload names."""

    keys: Sequence[tuple[str, bytes]]
    _ciphers: Mapping[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise EncryptionConfigError("an encryption codec needs at least one key")
        object.__setattr__(self, "_ciphers", {kid: AESGCM(key) for kid, key in self.keys})

    def __repr__(self) -> str:  # never show key material, even in a traceback
        return f"EncryptionCodec(key_ids={[kid for kid, _ in self.keys]})"

    @property
    def current_key_id(self) -> str:
        """Return the id of the key new payloads are encrypted with."""
        return self.keys[0][0]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload whole (metadata and data) under the current key."""
        kid = self.current_key_id
        cipher = self._ciphers[kid]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated too: a payload cannot be relabelled to another key.
            sealed = cipher.encrypt(nonce, p.SerializeToString(), kid.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads with the key they name, every layer; pass plain ones through."""
        out = []
        for p in payloads:
            for _ in range(MAX_LAYERS):
                if not sealed(p):
                    break
                p = self.open(p)
            out.append(p)
        return out

    def programme_cipher(self, slug: str, kid: str | None = None) -> tuple[str, AESGCM]:
        """Return the label and the cipher of a programme's key under a master key (the current
        one by default): derived from it with HKDF, so it needs no storage, and it opens only
        what was sealed for that programme (`passerelle.platform.envelope`)."""
        kid = kid or self.current_key_id
        master = dict(self.keys).get(kid)
        if master is None:
            raise UnknownKeyError(kid, list(self._ciphers))
        info = b"passerelle programme key\x00" + slug.encode()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
        return f"{PROGRAMME_KEY_PREFIX}{kid}:{slug}", AESGCM(derived)

    def open(self, p: Payload) -> Payload:
        """Decrypt one layer of a payload sealed with a master key or a programme's key."""
        kid = p.metadata.get(KEY_ID, b"").decode()
        if kid.startswith(PROGRAMME_KEY_PREFIX):
            master_id, _, slug = kid.removeprefix(PROGRAMME_KEY_PREFIX).partition(":")
            label, programme_cipher = self.programme_cipher(slug, master_id)
            return _opened(programme_cipher, p, label)
        cipher = self._ciphers.get(kid)
        if cipher is None and kid.startswith("dk:"):
            raise DataKeysNeeded(kid)
        if cipher is None:
            raise UnknownKeyError(kid, list(self._ciphers))
        return _opened(cipher, p, kid)


def _opened(cipher: AESGCM, p: Payload, label: str) -> Payload:
    plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], label.encode())
    decoded = Payload()
    decoded.ParseFromString(plain)
    return decoded


def master_of_label(label: str) -> str:
    """Return the master key a label needs: its own id, or the one a programme key derives from."""
    if label.startswith(PROGRAMME_KEY_PREFIX):
        return label.removeprefix(PROGRAMME_KEY_PREFIX).partition(":")[0]
    return label


def programme_of_label(label: str) -> str | None:
    """Return the programme a programme key's label names, None for any other label."""
    if not label.startswith(PROGRAMME_KEY_PREFIX):
        return None
    return label.removeprefix(PROGRAMME_KEY_PREFIX).partition(":")[2] or None
