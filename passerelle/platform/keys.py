"""The encryption keys of the environment: their shape, read before anything needs a cipher.

Stdlib only, so reading the settings (every command does) costs no cryptography library and no
Temporal converter: `passerelle.platform.codec` seals with what this parses.
"""

import base64
import binascii

DEFAULT_TTL_SECONDS = 30.0  # how long a process keeps an unwrapped data key (PASSERELLE_KEY_CACHE_SECONDS)


class EncryptionConfigError(ValueError):
    """The key list in the environment cannot be used (shape, base64, length, duplicates)."""


def parse_keys(raw: str, variable: str = "PASSERELLE_ENCRYPTION_KEYS") -> tuple[tuple[str, bytes], ...]:
    """Parse `kid:base64key,...` into `(kid, key)` pairs, the current key first.

    Errors name `variable` and the key id, never the key material.
    """
    keys: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not kid:
            raise EncryptionConfigError(f"{variable}: each entry must be `key-id:base64-key`")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionConfigError(f"{variable}: key {kid!r} is not base64") from None
        if len(key) != 32:
            raise EncryptionConfigError(f"{variable}: key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
        if kid in {k for k, _ in keys}:
            raise EncryptionConfigError(f"{variable}: key id {kid!r} appears twice")
        keys.append((kid, key))
    return tuple(keys)
