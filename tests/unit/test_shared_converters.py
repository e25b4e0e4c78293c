"""Context-bound copies of the encrypted converter reuse its converters instead of building new ones.

The SDK copies the data converter for every payload's serialization context; with the data-key
codec every copy is a real one. Each copy must still bind the codec to its own workflow, and
must not build a payload or failure converter of its own (`passerelle.platform.sdk_shortcuts`).
"""

import dataclasses

from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import WorkflowSerializationContext

from passerelle.platform.client import RefusalsInClear
from passerelle.platform.codec import EncryptionCodec, new_key
from passerelle.platform.envelope import EnvelopeCodec
from passerelle.platform.keys import parse_keys
from passerelle.platform.keystore import KeyStore
from passerelle.platform.sdk_shortcuts import SharedConverters


def test_copies_bind_their_context_and_build_no_converter(monkeypatch: object) -> None:
    keys = parse_keys(f"k1:{new_key()}")
    codec = EnvelopeCodec(EncryptionCodec(keys), KeyStore("postgresql://nowhere/db", keys))
    converter = SharedConverters(
        payload_converter_class=PydanticPayloadConverter,
        payload_codec=codec,
        failure_converter_class=RefusalsInClear,
    )
    built: list[str] = []
    original = PydanticPayloadConverter.__init__

    def counting(self: PydanticPayloadConverter, *args: object, **kwargs: object) -> None:
        built.append("payload")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PydanticPayloadConverter, "__init__", counting)  # type: ignore[attr-defined]
    copies = [
        converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id=f"collab-{i}"))
        for i in range(3)
    ]
    assert built == []
    assert [c.payload_codec.workflow_id for c in copies] == ["collab-0", "collab-1", "collab-2"]  # type: ignore[union-attr]
    assert all(type(c) is SharedConverters for c in copies)
    assert dataclasses.replace(converter).failure_converter is converter.failure_converter
