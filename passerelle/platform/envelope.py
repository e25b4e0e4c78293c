"""The production codec: each collaboration's payloads sealed with its own data key.

`EnvelopeCodec` implements the SDK's `WithSerializationContext`: for every payload it encodes,
the SDK tells it which workflow the payload belongs to (`WorkflowSerializationContext` for a
start, an update, a query, a result, a continue-as-new; `ActivitySerializationContext` for an
activity's input and result, naming the workflow that called it). It then seals with that
workflow id chain's data key (`passerelle.platform.keystore`), and names the key in the payload's
metadata as `dk:<key id>`. Decoding needs no context: the key id in the payload says which key
opens it, so the audit, the replayer and the codec server read any history through the same store.

A payload encoded with no workflow in view (the Web UI's forms through the codec server, a
Schedule's memo) is sealed with its programme's key when the namespace, or the codec server's
caller, names one (`EncryptionCodec.programme_cipher`), with the master key otherwise;
docs/privacy.md says what that means for erasure.

**Programmes.** A chain is a workflow id within a namespace: the context's namespace says which
programme's chain (`passerelle.platform.programmes`). Every key knows whose payloads it seals
(`KeyStore.owner`, a programme's `pk:` label names it), and a codec bound to a reader
(`for_reader`: the codec server's caller) opens a layer only when the reader may read that
programme's. A codec bound to a programme's namespace (a worker's, a client's) opens nothing
sealed for another programme: such a payload decodes to a refused one
(`schemas.actors.REFUSED_ENCODING`), which the worker reads as an unproven actor, so the update or
start carrying it is refused with the reason, and its workflow never retries it.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from passerelle.platform.codec import (
    ENCODING,
    KEY_ID,
    MAX_LAYERS,
    NONCE_BYTES,
    EncryptionCodec,
    programme_of_label,
    sealed,
)
from passerelle.platform.keystore import DataKeyDestroyed, KeyStore
from passerelle.platform.programmes import Namespaces
from schemas.actors import REFUSED_ENCODING, REFUSED_REASON

DATA_KEY_PREFIX = "dk:"  # a master key id cannot hold ":" (`parse_keys`), so the two never clash


def workflow_of(context: SerializationContext | None) -> str | None:
    """Return the workflow id a serialization context names, if any."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        return context.workflow_id
    return None


def namespace_of(context: SerializationContext | None) -> str | None:
    """Return the namespace a serialization context names, if any."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        return context.namespace or None
    return None


class ForeignPayload(PermissionError):
    """A payload sealed for a programme its reader holds no role in."""

    def __init__(self, owner: str | None) -> None:
        self.owner = owner
        whose = (
            f"programme {owner}"
            if owner
            else "no one programme (a collaboration not recorded yet, or one before programmes)"
        )
        super().__init__(f"sealed for {whose}: your login holds no role there")


def refused_payload(reason: str) -> Payload:
    """Return what stands for a payload refused to its sender (`schemas.actors.REFUSED_ENCODING`)."""
    return Payload(metadata={"encoding": REFUSED_ENCODING, REFUSED_REASON: reason.encode()})


# Whether the codec's reader may read what is sealed for a programme (None: no programme known).
Reader = Callable[[str | None], bool]


@dataclass(frozen=True)
class EnvelopeCodec(PayloadCodec, WithSerializationContext):
    """Seal with the data key of the workflow in context; open with whichever key a payload names."""

    master: EncryptionCodec
    store: KeyStore
    workflow_id: str | None = None
    namespaces: Namespaces = field(default_factory=Namespaces)
    namespace: str | None = None  # the context's namespace: which programme's chains
    programme: str | None = None  # seals context-free payloads for it (the codec server's caller)
    reader: Reader | None = None  # who reads: the codec server's caller

    def __repr__(self) -> str:
        return (
            f"EnvelopeCodec(workflow_id={self.workflow_id!r}, namespace={self.namespace!r}, {self.master!r})"
        )

    @property
    def current_key_id(self) -> str:
        """Return the master key id (what wraps the data keys and seals context-free payloads)."""
        return self.master.current_key_id

    def with_context(self, context: SerializationContext) -> "EnvelopeCodec":
        """Return this codec bound to the workflow `context` names (the SDK calls it)."""
        return replace(self, workflow_id=workflow_of(context), namespace=namespace_of(context))

    def for_reader(
        self, namespace: str | None, programme: str | None, reader: Reader, workflow_id: str | None = None
    ) -> "EnvelopeCodec":
        """Return this codec for one caller of the codec server: it seals context-free payloads
        for `programme` (a named workflow's with its chain's data key) and opens only the layers
        `reader` may read."""
        return replace(self, namespace=namespace, programme=programme, reader=reader, workflow_id=workflow_id)

    @property
    def _own_programme(self) -> str | None:
        return self.namespaces.programme_of(self.namespace)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal each payload whole under the chain's data key (the programme's key, or the master
        key, with no chain)."""
        if not payloads:
            return []
        if self.workflow_id is None:
            programme = self.programme or self._own_programme
            if programme is None:
                return await self.master.encode(payloads)
            label, cipher = self.master.programme_cipher(programme)
        else:
            key = await self.store.current(self.workflow_id, self.namespaces.chain_programme(self.namespace))
            if self.reader is not None:  # a codec server's caller seals only their own chains
                owner = await self.store.owner(key, self.namespaces.shared)
                if owner is not None and not self.reader(owner):
                    raise ForeignPayload(owner)
            label, cipher = DATA_KEY_PREFIX + key.key_id, key.cipher
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The label is authenticated: a payload cannot be relabelled to another key.
            sealed = cipher.encrypt(nonce, p.SerializeToString(), label.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: label.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open each payload with the key it names (a data key, a programme's or a master key, or
        none: clear), every layer of it (`passerelle.platform.codec.MAX_LAYERS`)."""
        out = []
        for p in payloads:
            for _ in range(MAX_LAYERS):
                if not sealed(p):
                    break
                try:
                    p = await self._open(p)
                except ForeignPayload as refused:
                    if self.reader is not None:
                        raise
                    p = refused_payload(str(refused))
                    break
            out.append(p)
        return out

    async def _open(self, p: Payload) -> Payload:
        label = p.metadata.get(KEY_ID, b"").decode()
        if not label.startswith(DATA_KEY_PREFIX):
            # A programme's namespace is new with programmes: nothing there is sealed with the
            # bare master key, or with another programme's key.
            programme, own = programme_of_label(label), self._own_programme
            self._may_open(programme, own is None or programme == own)
            return self.master.open(p)
        try:
            key = await self.store.key(label.removeprefix(DATA_KEY_PREFIX))
        except DataKeyDestroyed as gone:  # who erased what is its programme's to know
            if self.reader is not None:
                shared = self.namespaces.shared
                self._may_open(await self.store.chain_owner(gone.workflow_id, gone.programme, shared), True)
            raise
        shared = self.namespaces.shared
        owner = await self.store.owner(key, shared) if self.reader is not None else key.programme or None
        self._may_open(owner, key.programme == self.namespaces.chain_programme(self.namespace))
        plain = key.cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], label.encode())
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded

    def _may_open(self, owner: str | None, fits_namespace: bool) -> None:
        """Refuse a layer its reader may not read (`owner`: whose it is), or, bound to a
        namespace, one sealed for another programme's (copied or forged into it)."""
        if self.reader is not None:
            if not self.reader(owner):
                raise ForeignPayload(owner)
        elif self.namespace is not None and not fits_namespace:
            raise ForeignPayload(owner)
