"""Temporal's gRPC services alone, for the commands that read no payload.

`passerelle list` reads search attributes, which Temporal never passes through a codec: it needs
neither the data converter nor the keys, and connecting with `temporalio.service` alone spares
it the SDK's client, the larger half of its start-up (docs/benchmarks.md, "The operator's
commands"). Everything that reads or writes a payload connects through
`passerelle.platform.client.client_for`, with the settings' converter.
"""

import dataclasses

from temporalio.service import ConnectConfig, ServiceClient

from passerelle.platform.pressure import PATIENT
from passerelle.platform.settings import Settings


class TemporalUnreachable(Exception):
    """Temporal did not answer the connection (the `passerelle` command shows it as one line)."""


# The settings' `Client.connect` arguments that are connection options (not namespace, converter…).
_OPTIONS = {f.name for f in dataclasses.fields(ConnectConfig)}


def unreachable(target: object, err: Exception) -> TemporalUnreachable:
    """Return the one-line error of a failed connection to `target`."""
    return TemporalUnreachable(
        f"cannot reach Temporal at {target} ({err}); check TEMPORAL_ADDRESS and that the server is up"
    )


async def service_for(settings: Settings) -> ServiceClient:
    """Connect to the settings' Temporal (address, TLS, API key, headers) without a client."""
    options = {k: v for k, v in settings.temporal.items() if k in _OPTIONS}
    try:
        return await ServiceClient.connect(ConnectConfig(**{"retry_config": PATIENT, **options}))
    except RuntimeError as err:  # the SDK's "Failed client connect: ..."
        raise unreachable(options.get("target_host"), err) from None
