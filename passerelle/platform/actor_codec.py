"""The worker's side of actor statements: the codec that marks what each payload's statement
proves, and the payload converter that keeps that mark on a start input.

`ActorCodec` wraps the encryption codec of every process (`passerelle.platform.client`); only
the workers' marks reach a workflow. The statement itself, its signing and its check are
`passerelle.platform.vouching`.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from passerelle.platform.envelope import workflow_of
from passerelle.platform.vouching import (
    ACTOR,
    KEY_ID,
    SIGNATURE,
    STATEMENT,
    Unproven,
    actor_of,
    canonical,
    check,
    fingerprint,
    read_statement,
    statement_id,
)
from schemas.actors import REFUSED_ENCODING, REFUSED_REASON, Marked

MAX_REASON = 300  # characters of a refusal's reason shown to its sender


def _proven(
    payload: Payload, statement: Mapping[str, Any], fingerprint_of: Callable[[str], str]
) -> dict[str, Any]:
    return actor_of(statement, fingerprint_of) | {"statement": statement_id(payload.metadata[SIGNATURE])}


PublicKeys = Callable[[Sequence[str]], Awaitable[Mapping[str, bytes]]]
# `first_use(statement id, workflow id)`: the workflow that first used a statement (recording this
# one when it is the first), or None where nothing records uses (a process without a database).
FirstUse = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ActorCodec(PayloadCodec, WithSerializationContext):
    """Decodes with `inner`, then marks each payload with what its statement proves (`ACTOR`).

    `keys(ids)` returns the public vouching keys it knows among `ids` (the `vouching_keys` table,
    read again for an id it has not seen). Encoding is `inner`'s alone: a worker signs nothing.
    """

    inner: PayloadCodec | None
    keys: PublicKeys
    first_use: FirstUse | None = None
    workflow_id: str | None = None  # the collaboration whose payloads these are (its context)

    def with_context(self, context: SerializationContext) -> "ActorCodec":
        inner = self.inner
        if isinstance(inner, WithSerializationContext):
            inner = inner.with_context(context)
        return replace(self, inner=inner, workflow_id=workflow_of(context))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads) if self.inner is None else await self.inner.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = list(payloads) if self.inner is None else await self.inner.decode(payloads)
        return [await self._mark(p) for p in opened]

    async def _mark(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == REFUSED_ENCODING:
            reason = payload.metadata.get(REFUSED_REASON, b"refused").decode(errors="replace")[:MAX_REASON]
            return Payload(
                metadata={"encoding": b"json/plain", ACTOR: canonical({"unproven": reason})}, data=b"{}"
            )
        if ACTOR not in payload.metadata and STATEMENT not in payload.metadata:
            return payload  # the common case: a payload the worker wrote itself
        marked = Payload()
        marked.CopyFrom(payload)
        marked.metadata.pop(ACTOR, None)  # a client's own mark proves nothing
        if STATEMENT not in marked.metadata:
            return marked
        kid = _key_named(marked)
        known = await self.keys([kid]) if kid else {}
        try:
            statement = check(marked, known.get)
            await self._first_here(marked)
            finding: dict[str, Any] = {
                "verified": _proven(marked, statement, lambda k: fingerprint(known[k]))
            }
        except Unproven as why:
            finding = {"unproven": str(why)}
            claimed = read_statement(marked.metadata[STATEMENT]) or {}
            if isinstance(claimed.get("email"), str) and len(claimed["email"]) <= 320:
                # Proves nothing; lets an update that history says was accepted replay as sent
                # (its `by` was the verified e-mail) where this key is not at hand.
                finding["claimed_email"] = claimed["email"]
        marked.metadata[ACTOR] = canonical(finding)
        return marked

    async def _first_here(self, payload: Payload) -> None:
        """Refuse a statement a collaboration other than this one used first: copied out of one
        history into another collaboration, it proves nothing there."""
        if self.first_use is None or self.workflow_id is None:
            return
        first = await self.first_use(statement_id(payload.metadata[SIGNATURE]), self.workflow_id)
        if first is not None and first != self.workflow_id:
            raise Unproven("the actor statement was used by another collaboration first")


def _key_named(payload: Payload) -> str | None:
    statement = read_statement(payload.metadata[STATEMENT])
    key = statement.get("key") if statement else None
    return key if isinstance(key, str) and KEY_ID.fullmatch(key) else None


class MarkedPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, which keeps the codec's mark on an untyped JSON object.

    The workflow takes its start input untyped (`Any`: a start sends one payload to a run of two
    parameters, so the SDK decodes it without type hints), which would drop the payload's
    metadata and the mark with it. A JSON object whose payload the worker's codec marked comes
    out as a `schemas.actors.Marked` dict instead, carrying the mark.
    """

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        values = super().from_payloads(payloads, type_hints)
        return [
            Marked(value, payload.metadata[ACTOR])
            if type(value) is dict and ACTOR in payload.metadata
            else value
            for payload, value in zip(payloads, values, strict=True)
        ]
