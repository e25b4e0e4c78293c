"""Which encryption keys a set of histories needs, checked before anything is decoded.

An auditor given an export, or a live id, learns at once and in one line which key is missing,
instead of a decoding failure deep inside the Replayer or the timeline. Each encrypted payload
names its key id in its metadata (`passerelle.platform.codec`): a master key's id, or `dk:<id>` for
a collaboration's data key, read from the key store (`passerelle.platform.envelope`); clear
payloads need no key. A run whose data key was destroyed is erased (`erasure_of`).
"""

from collections.abc import Iterable, Iterator, Sequence
from functools import cache

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from passerelle.audit.histories import Run
from passerelle.platform.codec import ENCODING, KEY_ID, DataKeysNeeded, UnknownKeyError, master_of_label
from passerelle.platform.envelope import DATA_KEY_PREFIX
from passerelle.platform.keystore import DataKeyDestroyed, KeyStore
from passerelle.platform.settings import Settings

_PAYLOAD = Payload.DESCRIPTOR.full_name


@cache
def _may_hold_payloads(descriptor: Descriptor) -> bool:
    """Return True when a message of this type can contain a Payload, at any depth."""
    seen: set[str] = set()
    todo = [descriptor]
    while todo:
        current = todo.pop()
        if current.full_name == _PAYLOAD:
            return True
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        todo += [f.message_type for f in current.fields if f.message_type is not None]
    return False


def payloads(message: Message) -> Iterator[Payload]:
    """Yield every Payload inside a protobuf message, at any depth (inputs, results, memos)."""
    if message.DESCRIPTOR.full_name == _PAYLOAD:
        yield message  # type: ignore[misc]
        return
    for field, value in message.ListFields():
        if field.message_type is None or not _may_hold_payloads(field.message_type):
            continue
        if field.message_type.GetOptions().map_entry:
            items: Iterable[Message] = value.values()
        elif field.is_repeated:
            items = value
        else:
            items = (value,)
        for item in items:
            yield from payloads(item)


def key_ids(runs: Sequence[Run]) -> set[str]:
    """Return the id of every key the runs' encrypted payloads were sealed with."""
    found = set()
    for run in runs:
        for event in run.events:
            for payload in payloads(event):
                if payload.metadata.get("encoding") == ENCODING:
                    found.add(payload.metadata.get(KEY_ID, b"").decode())
    return found


def check_keys(runs: Sequence[Run], settings: Settings) -> None:
    """Raise `UnknownKeyError` naming the first master key the runs need that the settings lack,
    or `DataKeysNeeded` when they hold collaboration data keys and no database is configured."""
    known = [kid for kid, _ in settings.encryption_keys]
    needed = key_ids(runs)
    data_keys = {kid for kid in needed if kid.startswith(DATA_KEY_PREFIX)}
    if data_keys and settings.database_url is None:
        raise DataKeysNeeded(sorted(data_keys)[0])
    missing = sorted({master_of_label(kid) for kid in needed - data_keys} - set(known))
    if missing:
        raise UnknownKeyError(missing[0], known)


async def erasure_of(run: Run, store: KeyStore) -> DataKeyDestroyed | None:
    """Return how the run was erased (its first destroyed data key), or None when it reads."""
    for kid in sorted(key_ids([run])):
        if not kid.startswith(DATA_KEY_PREFIX):
            continue
        try:
            await store.key(kid.removeprefix(DATA_KEY_PREFIX))
        except DataKeyDestroyed as destroyed:
            return destroyed
    return None
