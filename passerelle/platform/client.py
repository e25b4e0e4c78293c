"""The one way to reach Temporal: settings in, a data converter or a client out.

Every process (worker, every command, the audit, setup, the dev stack, the benchmarks and the
tests' fixtures) gets its converter from `converter_for` and its client from `client_for`, so a
payload is encrypted or decrypted exactly when the settings call for it, wherever it is read or
written. The one exception reads no payload at all: `passerelle list` asks the visibility service
through `passerelle.platform.service`. `tests/unit/test_one_client_factory.py` fails if a module
connects or builds a converter any other way.

The converter is the pydantic one, plus the AES-GCM payload codec when encryption keys are
configured, so nothing readable leaves the process for Temporal's history: each collaboration's
own data key when the database is configured too (`passerelle.platform.envelope`, the production
default), the master key alone otherwise (`passerelle.platform.codec`). Payloads written in clear
(before encryption was switched on) or under a master key still read through either.

An operator's `passerelle` with `PASSERELLE_CODEC_URL` set holds no key: its codec is the codec
server, reached with the operator's `passerelle login` token (`passerelle.platform.remote_codec`).
The processes that hold the keys (the worker above all: it decodes every payload of every run,
and the codec server's statements are checked there) never take that path: they call
`keys_held_here` first, which refuses a `PASSERELLE_CODEC_URL`, and use `local_codec_for`.
"""

import dataclasses
from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadCodec, PayloadConverter
from temporalio.exceptions import ApplicationError

from passerelle.platform.actor_codec import ActorCodec, MarkedPayloadConverter
from passerelle.platform.codec import EncryptionCodec
from passerelle.platform.envelope import EnvelopeCodec
from passerelle.platform.keystore import KeyStore
from passerelle.platform.pressure import PATIENT
from passerelle.platform.sdk_shortcuts import converter_class
from passerelle.platform.service import unreachable
from passerelle.platform.settings import Settings
from passerelle.platform.vouching import Signer
from passerelle.platform.vouching_keys import Keyring
from workflows.requests import IN_CLEAR

# One key store per database and master keys in a process: its cache is what a re-key clears.
_stores: dict[tuple[str, tuple[tuple[str, bytes], ...], float], KeyStore] = {}


def store_for(settings: Settings) -> KeyStore | None:
    """Return the process's data-key store of the settings, or None without keys or database."""
    if not settings.encryption_keys or settings.database_url is None:
        return None
    ident = (settings.database_url, tuple(settings.encryption_keys), settings.key_cache_seconds)
    if ident not in _stores:
        _stores[ident] = KeyStore(
            settings.database_url, settings.encryption_keys, ttl=settings.key_cache_seconds
        )
    return _stores[ident]


def keys_held_here(settings: Settings, process: str) -> Settings:
    """Return the settings of a process that encodes with keys of its own (`process` names it),
    refusing `PASSERELLE_CODEC_URL`: such a process must not hand its payloads to a codec server
    with somebody's login, nor depend on one being up."""
    if settings.codec_url is not None:
        raise SystemExit(
            f"PASSERELLE_CODEC_URL is set, but {process} encodes and decodes with its own keys "
            "(PASSERELLE_ENCRYPTION_KEYS), never through the codec server: unset it for this process"
        )
    return settings


def codec_for(settings: Settings) -> PayloadCodec | None:
    """Return the settings' codec: the codec server with the operator's login when
    `PASSERELLE_CODEC_URL` is set, else the keys held here (`local_codec_for`)."""
    if settings.codec_url is not None:
        # Imported here: only an operator's process without keys needs them.
        from passerelle.platform.remote_codec import RemoteCodec
        from passerelle.platform.token_source import TokenSource

        return RemoteCodec(
            settings.codec_url, TokenSource(settings.login).current_token, namespace=settings.namespace
        )
    return local_codec_for(settings)


def local_codec_for(settings: Settings) -> EncryptionCodec | EnvelopeCodec | None:
    """Return the codec of the keys held here: per-collaboration data keys when a database is
    configured (`passerelle.platform.envelope`), the master keys alone otherwise, None without keys."""
    if not settings.encryption_keys:
        return None
    master = EncryptionCodec(settings.encryption_keys)
    store = store_for(settings)
    return master if store is None else EnvelopeCodec(master, store, namespaces=settings.namespaces)


class RefusalsInClear(DefaultFailureConverter):
    """Encrypts every failure message and stack trace, except the workflow's refusals of input.

    An error may quote the data it choked on, so failures are encoded. A refusal of the workflow's
    rules (`workflows.domain.updates.REFUSALS`: an illegal move, an unmet gate, four eyes...) or of invalid
    input (`workflows.requests.INPUT_ERRORS`: a start input or update that does not decode) is
    the answer an operator needs to read wherever they sent it, the Web UI included, which shows
    an encoded failure only as "Encoded failure". Their messages are written from the rules' own
    words, field names, stage names, milestone kinds and playbook labels, never from the values
    (tests/unit/test_gates.py checks every refusal the property test meets,
    tests/unit/test_failures_in_clear.py every invalid input), so they stay in clear, without
    their stack trace.
    """

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
        self._clear = DefaultFailureConverter()

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        """Encode `exception` into `failure`, its message in clear only for a refusal."""
        if isinstance(exception, ApplicationError) and exception.type in IN_CLEAR:
            self._clear.to_failure(exception, payload_converter, failure)
            failure.stack_trace = ""
            return
        super().to_failure(exception, payload_converter, failure)


_keyrings: dict[tuple[str | None, tuple[tuple[str, bytes], ...]], Keyring] = {}


def keyring_for(settings: Settings) -> Keyring:
    """Return the process's public vouching keys: the `vouching_keys` table when a database is
    configured, and the public halves of its own `PASSERELLE_VOUCHING_KEYS`."""
    ident = (settings.database_url, tuple(settings.vouching_keys))
    if ident not in _keyrings:
        own = Signer(settings.vouching_keys) if settings.vouching_keys else None
        _keyrings[ident] = Keyring(settings.database_url, own)
    return _keyrings[ident]


def converter_for(settings: Settings) -> DataConverter:
    """Return the pydantic data converter, encrypting with the settings' keys when there are any.

    With a codec, failure messages and stack traces are encrypted too (moved into the failure's
    encoded attributes), but for the workflow's refusals (`RefusalsInClear`). On the SDK versions
    the suite runs on, its context-bound copies share one payload and one failure converter
    (`passerelle.platform.sdk_shortcuts.SharedConverters`: a tenth of a worker's CPU with data
    keys, docs/benchmarks.md); on others it is the SDK's own `DataConverter`.

    Every payload decoded is then checked for an actor statement (`ActorCodec`), encrypted or
    not: a payload in clear may carry a forged mark of a verified actor, which only that codec
    removes. A statement counts for the first collaboration that used it only (`vouched_uses`).
    """
    codec = codec_for(settings)
    keyring = keyring_for(settings)
    actors = ActorCodec(codec, keyring, keyring.first_use)
    if codec is None:
        return dataclasses.replace(
            pydantic_data_converter, payload_codec=actors, payload_converter_class=MarkedPayloadConverter
        )
    return converter_class()(
        payload_converter_class=MarkedPayloadConverter,
        payload_codec=actors,
        failure_converter_class=RefusalsInClear,
    )


def client_in(client: Client, namespace: str) -> Client:
    """Return a client like `client` (its connection, its converter) for another namespace."""
    if namespace == client.namespace:
        return client
    return Client(client.service_client, namespace=namespace, data_converter=client.data_converter)


async def client_for(settings: Settings, **overrides: Any) -> Client:
    """Connect to the settings' Temporal with the settings' converter.

    `overrides` replace `Client.connect` keyword arguments of the settings (`target_host`,
    `namespace`, `runtime`…), for the dev stack's own server and the worker's metrics runtime.
    Its calls ride Temporal's back-pressure for two minutes (`passerelle.platform.pressure`).
    """
    temporal = {"retry_config": PATIENT, **settings.temporal, **overrides}
    try:
        return await Client.connect(**temporal, data_converter=converter_for(settings))
    except RuntimeError as err:  # the SDK's "Failed client connect: ..."
        raise unreachable(temporal.get("target_host"), err) from None
