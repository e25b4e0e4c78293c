"""The one client factory: every Temporal client (worker, CLI, tests) gets the pydantic converter here."""

from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter


async def connect(temporal: Mapping[str, Any]) -> Client:
    """Connect to Temporal with `Client.connect` keyword arguments and Passerelle's converter."""
    return await Client.connect(**temporal, data_converter=DATA_CONVERTER)
