"""The production codec: each collaboration's payloads sealed with its own data key.

`EnvelopeCodec` implements the SDK's `WithSerializationContext`: for every payload it encodes,
the SDK tells it which workflow the payload belongs to (`WorkflowSerializationContext` for a
start, an update, a query, a result, a continue-as-new; `ActivitySerializationContext` for an
activity's input and result, naming the workflow that called it). It then seals with that
workflow id chain's data key (`passerelle.platform.keystore`), and names the key in the payload's
metadata as `dk:<key id>`. Decoding needs no context: the key id in the payload says which key
opens it, so the audit, the replayer and the codec server read any history through the same store.

A payload encoded with no workflow in view (the Web UI's forms through the codec server, a
Schedule's memo) is sealed with the master key, as `passerelle.platform.codec` does; docs/privacy.md
says what that means for erasure.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from passerelle.platform.codec import ENCODING, KEY_ID, MAX_LAYERS, NONCE_BYTES, EncryptionCodec, sealed
from passerelle.platform.keystore import KeyStore

DATA_KEY_PREFIX = "dk:"  # a master key id cannot hold ":" (`parse_keys`), so the two never clash


def workflow_of(context: SerializationContext | None) -> str | None:
    """Return the workflow id a serialization context names, if any."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        return context.workflow_id
    return None


@dataclass(frozen=True)
class EnvelopeCodec(PayloadCodec, WithSerializationContext):
    """Seal with the data key of the workflow in context; open with whichever key a payload names."""

    master: EncryptionCodec
    store: KeyStore
    workflow_id: str | None = None

    def __repr__(self) -> str:
        return f"EnvelopeCodec(workflow_id={self.workflow_id!r}, {self.master!r})"

    @property
    def current_key_id(self) -> str:
        """Return the master key id (what wraps the data keys and seals context-free payloads)."""
        return self.master.current_key_id

    def with_context(self, context: SerializationContext) -> "EnvelopeCodec":
        """Return this codec bound to the workflow `context` names (the SDK calls it)."""
        return replace(self, workflow_id=workflow_of(context))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal each payload whole under the chain's data key (the master key with no chain)."""
        if self.workflow_id is None or not payloads:
            return await self.master.encode(payloads)
        key = await self.store.current(self.workflow_id)
        label = (DATA_KEY_PREFIX + key.key_id).encode()
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = key.cipher.encrypt(nonce, p.SerializeToString(), label)  # the label is authenticated
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: label}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open each payload with the key it names (a data key, a master key, or none: clear),
        every layer of it (`passerelle.platform.codec.MAX_LAYERS`)."""
        out = []
        for p in payloads:
            for _ in range(MAX_LAYERS):
                if not sealed(p):
                    break
                p = await self._open(p)
            out.append(p)
        return out

    async def _open(self, p: Payload) -> Payload:
        label = p.metadata.get(KEY_ID, b"").decode()
        if not label.startswith(DATA_KEY_PREFIX):
            return self.master.open(p)
        key = await self.store.key(label.removeprefix(DATA_KEY_PREFIX))
        plain = key.cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], label.encode())
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded
