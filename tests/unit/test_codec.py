"""The AES-GCM payload codec: round trip, key ids, rotation, tampering, and configuration errors."""

import base64
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from passerelle.platform.codec import (
    ENCODING,
    KEY_ID,
    MAX_LAYERS,
    EncryptionCodec,
    new_key,
)
from passerelle.platform.keys import EncryptionConfigError, parse_keys
from passerelle.platform.settings import load_settings

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"contact_email": "a@b.example"}')


def keys(*kids: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((kid, base64.b64decode(new_key())) for kid in kids)


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    """Encoded payloads carry no plaintext, name their key id, and decode to the original."""
    codec = EncryptionCodec(keys("k1"))
    [sealed] = await codec.encode([PLAIN])
    assert b"a@b.example" not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k1"
    assert await codec.decode([sealed]) == [PLAIN]


async def test_a_payload_sealed_twice_opens_to_the_original() -> None:
    """A client that sends a sealed payload through the codec again (the Temporal CLI retrying an
    update that met a continue-as-new) is read as if it had sealed it once; no deeper than
    `MAX_LAYERS`, and a plain payload is never taken for a layer."""
    codec = EncryptionCodec(keys("k1", "k0"))
    layered = [PLAIN]
    for depth in range(1, MAX_LAYERS + 2):
        layered = await codec.encode(layered)
        opened = await codec.decode(layered)
        assert (opened == [PLAIN]) is (depth <= MAX_LAYERS), depth
    assert await codec.decode([PLAIN]) == [PLAIN]


async def test_rotation_old_keys_still_decrypt() -> None:
    """After prepending a new key, payloads sealed with the old one still open; new ones use the new."""
    old = keys("k0")
    before = await EncryptionCodec(old).encode([PLAIN])
    rotated = EncryptionCodec((*keys("k1"), *old))
    assert await rotated.decode(before) == [PLAIN]
    after = await rotated.encode([PLAIN])
    assert after[0].metadata[KEY_ID] == b"k1"


async def test_unknown_key_id_is_a_clear_error() -> None:
    """A payload sealed with a key that was dropped says which key is missing."""
    sealed = await EncryptionCodec(keys("gone")).encode([PLAIN])
    with pytest.raises(ValueError, match="key 'gone', which is not in PASSERELLE_ENCRYPTION_KEYS"):
        await EncryptionCodec(keys("k1")).decode(sealed)


async def test_tampered_or_relabelled_payload_is_refused() -> None:
    """GCM authenticates the data and the key id: a flipped bit or a swapped label fails."""
    codec = EncryptionCodec(keys("k1", "k2"))
    [sealed] = await codec.encode([PLAIN])
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        await codec.decode([flipped])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(InvalidTag):
        await codec.decode([relabelled])


async def test_plain_payloads_pass_through() -> None:
    """History written before encryption was switched on still reads."""
    assert await EncryptionCodec(keys("k1")).decode([PLAIN]) == [PLAIN]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nokey", "must be `key-id:base64-key`"),
        ("k1:!!!notbase64", "key 'k1' is not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "key 'k1' must be 32 bytes"),
        (f"k1:{new_key()},k1:{new_key()}", "key id 'k1' appears twice"),
    ],
    ids=["no key", "not base64", "too short", "twice"],  # fixed ids: the same in every run
)
def test_bad_key_lists_are_refused_without_echoing_keys(raw: str, message: str) -> None:
    """Configuration errors name the key id and the rule, never the key material."""
    with pytest.raises(EncryptionConfigError) as info:
        parse_keys(raw)
    assert message in str(info.value)
    secret = raw.partition(":")[2]
    assert not secret or secret not in str(info.value)


def test_settings_never_show_keys_or_api_key() -> None:
    """The settings' repr (what a log or traceback would show) holds no key and no API key."""
    key = new_key()
    settings = load_settings(
        {"PASSERELLE_ENCRYPTION_KEYS": f"k1:{key}", "TEMPORAL_API_KEY": "tak-secret-123"}
    )
    assert settings.encryption_keys[0][0] == "k1"
    assert key not in repr(settings) and "tak-secret-123" not in repr(settings)
    assert key not in repr(EncryptionCodec(settings.encryption_keys))


async def test_worker_refuses_to_start_without_keys_unless_told_to_run_in_clear() -> None:
    """Production default: no keys and no PASSERELLE_ENCRYPTION=off is a clear start-up error."""
    from passerelle.platform.worker import run_worker

    settings = load_settings({"PASSERELLE_DATABASE_URL": "postgresql://unused/db"})
    with pytest.raises(SystemExit, match="no encryption keys: set PASSERELLE_ENCRYPTION_KEYS"):
        await run_worker(settings)
    with pytest.raises(SystemExit, match="PASSERELLE_ENCRYPTION must be `on` or `off`"):
        load_settings({"PASSERELLE_ENCRYPTION": "maybe"})


def test_printed_database_urls_hide_the_password() -> None:
    """`passerelle dev` prints its database URL with the password masked."""
    from passerelle.platform.db import redact_url

    assert redact_url("postgresql://app:s3cr3t@db.example:5432/p") == "postgresql://app:***@db.example:5432/p"
    assert (
        redact_url("postgresql://postgres@/postgres?host=/tmp/x")
        == "postgresql://postgres@/postgres?host=/tmp/x"
    )


def test_dev_encrypt_creates_an_owner_only_key_once_and_keeps_using_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`passerelle dev` (encrypted by default) makes a key file (0600); later runs, even `--no-encrypt`, reuse it."""
    from passerelle.cli.stack import dev_encryption

    monkeypatch.delenv("PASSERELLE_ENCRYPTION_KEYS")  # a user's shell: no keys, the stack makes one

    assert dev_encryption(tmp_path, encrypt=False, env={}).encryption_off
    first = dev_encryption(tmp_path, encrypt=True, env={})
    key_file = tmp_path / "encryption.keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not first.encryption_off and first.encryption_keys[0][0] == "dev"
    again = dev_encryption(tmp_path, encrypt=False, env={})
    assert again.encryption_keys == first.encryption_keys


def test_dev_encrypt_makes_a_key_for_the_state_folder_it_is_given(tmp_path: Path) -> None:
    """`passerelle dev --state-dir other`, while the default folder has a key: the other folder
    gets a key of its own and runs encrypted, never in clear because a different folder had one."""
    from passerelle.cli.stack import dev_encryption

    default, other = tmp_path / "default", tmp_path / "other"
    default.mkdir()
    (default / "encryption.keys").write_text(f"dev:{new_key()}\n")
    settings = dev_encryption(other, encrypt=True, env={"PASSERELLE_STATE_DIR": str(default)})
    assert not settings.encryption_off
    assert (other / "encryption.keys").exists()
    assert settings.encryption_keys != load_settings({"PASSERELLE_STATE_DIR": str(default)}).encryption_keys


async def test_refusals_travel_in_clear_and_every_other_failure_is_encrypted() -> None:
    """The Web UI shows an encoded failure as "Encoded failure": a refusal, and the refusal of
    invalid input (which names fields and rules, never values), must stay readable."""
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    from passerelle.platform.client import converter_for

    converter = converter_for(load_settings({"PASSERELLE_ENCRYPTION_KEYS": f"k1:{new_key()}"}))
    refusal = 'cannot move to pilot: missing milestone "NDA signed"; playbook Coalition Next v3'
    for kind, message, shown in [
        ("GateUnmet", refusal, refusal),
        ("SameApprover", "whoever requested this approval may not answer it", None),
        ("InvalidRequest", "invalid advance: by: value is not a valid email address", None),
        ("InvalidCollaborationRequest", "invalid collaboration request: owner_email: Field required", None),
        ("NotStarted", "the collaboration did not start: its input is invalid", None),
        ("RuntimeError", "asyncpg: a@b.example", "Encoded failure"),
    ]:
        failure = Failure()
        await converter.encode_failure(ApplicationError(message, type=kind), failure)
        assert failure.message == (shown or message), kind
        assert (failure.stack_trace == "") and (b"a@b.example" not in failure.SerializeToString())
