"""The one client factory: every Temporal client (worker, CLI, tests) gets its converter here.

The converter is the pydantic one, plus the AES-GCM payload codec (`passerelle.codec`) when
encryption keys are configured, so nothing readable leaves the process for Temporal's history.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from passerelle.codec import EncryptionCodec
from passerelle.config import Settings

DATA_CONVERTER = pydantic_data_converter


def codec_for(settings: Settings) -> EncryptionCodec | None:
    """Return the encryption codec of the settings' keys, or None when none are configured."""
    return EncryptionCodec(settings.encryption_keys) if settings.encryption_keys else None


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Return the pydantic data converter, encrypting through `codec` when given.

    With a codec, failure messages and stack traces are encrypted too (moved into the failure's
    encoded attributes): an error may quote the data it choked on.
    """
    if codec is None:
        return DATA_CONVERTER
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(temporal: Mapping[str, Any], codec: PayloadCodec | None = None) -> Client:
    """Connect to Temporal with `Client.connect` keyword arguments and Passerelle's converter."""
    return await Client.connect(**temporal, data_converter=data_converter(codec))
