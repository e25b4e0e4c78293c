"""Per-collaboration data keys: envelope encryption in PostgreSQL, so a collaboration can be shredded.

Every workflow id chain has its own random AES-256 data key (`data_keys`, migration 0007). The
key is stored wrapped (sealed) under the current master key of `PASSERELLE_ENCRYPTION_KEYS`, so
the database alone opens nothing, and a master key rotation changes nothing here: a data key
names the master key that wrapped it, and every configured master key still unwraps.

Destroying a data key sets its wrapped bytes to NULL: every payload it sealed is unreadable from
then on, wherever it is stored. A process keeps unwrapped keys in memory for at most
`PASSERELLE_KEY_CACHE_SECONDS` (30 s by default, `ttl`), and the chain's current key id for as
long, so a destroyed key stops opening payloads everywhere within that time, and a re-keyed
chain seals with its new key everywhere within it (docs/privacy.md).

The store never guesses: a database it cannot reach raises `KeyStoreUnavailable`, which the SDK
turns into a failed (and retried) workflow task or a refused client call. It never falls back to
sealing with the master key, let alone to clear text.
"""

import asyncio
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from cachetools import TTLCache
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passerelle.platform.codec import NONCE_BYTES, UnknownKeyError
from passerelle.platform.keys import DEFAULT_TTL_SECONDS, EncryptionConfigError
from passerelle.platform.pressure import attempts

POOL_SIZE = 10  # the first payloads of many new collaborations at once each need a query
BUSY_WAIT = 60.0  # seconds a query waits for PostgreSQL to have a connection to spare
MAX_CACHED_KEYS = 10_000  # 32 bytes each: a worker's whole open portfolio, far from a memory problem


class KeyStoreUnavailable(RuntimeError):
    """The data keys cannot be read or written now (database down, not migrated): retry later."""


class UnknownDataKey(LookupError):
    """A payload names a data key the store does not hold."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"payload sealed with data key {key_id!r}, which the key store does not hold")


class DataKeyDestroyed(LookupError):
    """A payload's data key was destroyed: the payload is erased (crypto-shredded) for good."""

    def __init__(
        self,
        key_id: str,
        workflow_id: str,
        at: datetime,
        by: str | None,
        reason: str | None,
        programme: str = "",
    ) -> None:
        self.key_id, self.workflow_id, self.at, self.by, self.reason = key_id, workflow_id, at, by, reason
        self.programme = programme  # the chain's (`DataKey.programme`)
        super().__init__(
            f"erased: payload of {workflow_id} sealed with data key {key_id}, "
            f"destroyed at {at.isoformat(timespec='seconds')} by {by or 'unknown'}"
        )


@dataclass(frozen=True)
class DataKey:
    """An unwrapped data key, the chain it belongs to, and whose payloads it seals.

    `programme` is the programme whose own namespace the chain's workflow runs in ('' for the
    shared namespace); `KeyStore.owner` says whose people may read what it seals."""

    key_id: str
    workflow_id: str
    cipher: AESGCM
    programme: str = ""

    def __repr__(self) -> str:  # never the key material
        return f"DataKey({self.key_id!r}, {self.workflow_id!r}, {self.programme!r})"


# A chain is (programme, workflow id): `$1` is the workflow id and `$2` the programme throughout.
CURRENT = """
SELECT * FROM data_keys WHERE workflow_id = $1 AND programme = $2
    AND activated_at IS NOT NULL AND retired_at IS NULL AND destroyed_at IS NULL
"""
CREATE_FIRST = """
INSERT INTO data_keys (key_id, workflow_id, programme, generation, master_key_id, wrapped, activated_at)
SELECT $3, $1, $2, coalesce(max(generation), 0) + 1, $4, $5, now() FROM data_keys
WHERE workflow_id = $1 AND programme = $2
ON CONFLICT DO NOTHING
RETURNING key_id
"""
PREPARE = """
INSERT INTO data_keys (key_id, workflow_id, programme, generation, master_key_id, wrapped)
SELECT $3, $1, $2, coalesce(max(generation), 0) + 1, $4, $5 FROM data_keys
WHERE workflow_id = $1 AND programme = $2
"""
ONE = "SELECT * FROM data_keys WHERE key_id = $1"
# A chain of the shared namespace (`$2`) belongs to the one programme its collaborations there
# name ('' for rows recorded before programmes had namespaces): a collaboration's own workflow
# id, or its deliveries' (`<workflow id>.deliveries.<run id>`). Another programme's workflow of
# the same id, in its own namespace, has chains of its own and counts for nothing here.
OWNER = """
SELECT CASE WHEN count(DISTINCT programme_slug) = 1 THEN min(programme_slug) END AS owner
FROM collaborations
WHERE (workflow_id = $1 OR starts_with($1, workflow_id || '.deliveries.')) AND namespace IN ('', $2)
"""
RETIRE = """
UPDATE data_keys SET retired_at = now()
WHERE workflow_id = $1 AND programme = $2 AND key_id <> $3 AND retired_at IS NULL AND destroyed_at IS NULL
"""
ACTIVATE = """
UPDATE data_keys SET activated_at = coalesce(activated_at, now())
WHERE workflow_id = $1 AND programme = $2 AND key_id = $3 AND destroyed_at IS NULL
"""
DESTROY = """
UPDATE data_keys SET wrapped = NULL, destroyed_at = now(), destroyed_by = $3, destroy_reason = $4
WHERE workflow_id = $1 AND programme = $2 AND destroyed_at IS NULL AND NOT key_id = ANY($5::text[])
RETURNING key_id
"""


@contextmanager
def _unavailable() -> Iterator[None]:
    """Turn a database that cannot serve the keys now into one `KeyStoreUnavailable`."""
    try:
        yield
    except asyncpg.UndefinedTableError:
        raise KeyStoreUnavailable(
            "data keys: the database is not migrated (run `passerelle migrate`)"
        ) from None
    except (TimeoutError, OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as err:
        raise KeyStoreUnavailable(f"data keys: PostgreSQL did not answer ({type(err).__name__})") from None


def _aad(key_id: str, workflow_id: str, programme: str) -> bytes:
    # A wrapped key cannot be moved to another chain or relabelled, nor to another programme's.
    chain = f"{key_id}\x00{workflow_id}"
    return (chain if not programme else f"{chain}\x00{programme}").encode()


class KeyStore:
    """Create, unwrap, re-key and destroy data keys; cache unwrapped ones for `ttl` seconds."""

    def __init__(
        self,
        database_url: str,
        master_keys: Sequence[tuple[str, bytes]],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_keys: int = MAX_CACHED_KEYS,
    ) -> None:
        if not master_keys:
            raise EncryptionConfigError("data keys need a master key (PASSERELLE_ENCRYPTION_KEYS)")
        self._url = database_url
        self._masters = {kid: AESGCM(key) for kid, key in master_keys}
        self._current_master = master_keys[0][0]
        # Pseudonyms (`schemas.privacy.pseudonym_of`) are keyed by a secret of the current master key.
        self.pseudonym_secret = hmac.new(master_keys[0][1], b"passerelle pseudonyms", hashlib.sha256).digest()
        self.ttl = ttl
        self._keys: TTLCache[str, DataKey] = TTLCache(max_keys, ttl, timer=time.monotonic)
        self._owners: TTLCache[str, str] = TTLCache(max_keys, ttl, timer=time.monotonic)
        self._current: TTLCache[tuple[str, str], str] = TTLCache(max_keys, ttl, timer=time.monotonic)
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"KeyStore(master_key_ids={list(self._masters)}, ttl={self.ttl})"

    async def _conn_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a process may run several event loops one after the other
            self._pool, self._loop, self._opening = None, loop, asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                try:
                    self._pool = await asyncpg.create_pool(
                        self._url, min_size=0, max_size=POOL_SIZE, timeout=5
                    )
                except (TimeoutError, OSError, asyncpg.PostgresError) as err:
                    raise KeyStoreUnavailable(
                        f"data keys: cannot reach PostgreSQL ({type(err).__name__})"
                    ) from None
            return self._pool

    async def _run(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run `query`, waiting (with jittered backoff) while PostgreSQL has no connection to spare.

        A hundred `passerelle` commands at once each open a connection for their keys: beyond
        `max_connections`, PostgreSQL refuses the newcomers until others are done (SQLSTATE
        53300), which is back-pressure to ride, like Temporal's (`passerelle.platform.pressure`).
        """
        pool = await self._conn_pool()
        busy: Exception | None = None
        async for _ in attempts(BUSY_WAIT, 0.1, 2.0):
            try:
                with _unavailable():
                    return list(await pool.fetch(query, *args, timeout=10))
            except (asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError) as err:
                busy = err
        raise KeyStoreUnavailable(f"data keys: PostgreSQL is busy ({type(busy).__name__})")

    async def close(self) -> None:
        """Close the store's connections (the cache stays until it expires)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _wrap(self, key_id: str, workflow_id: str, programme: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = _aad(key_id, workflow_id, programme)
        return nonce + self._masters[self._current_master].encrypt(nonce, key, aad)

    def _unwrap(self, row: asyncpg.Record) -> DataKey:
        master = self._masters.get(row["master_key_id"])
        if master is None:
            raise UnknownKeyError(row["master_key_id"], list(self._masters))
        wrapped = bytes(row["wrapped"])
        aad = _aad(row["key_id"], row["workflow_id"], row["programme"])
        key = master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        return DataKey(row["key_id"], row["workflow_id"], AESGCM(key), row["programme"])

    async def current(self, workflow_id: str, programme: str = "") -> DataKey:
        """Return the key the chain seals with now, creating the chain's first key if it has none.

        One query for a chain not in the cache (its current row, unwrapped here), two for a new
        chain: the sealing path of a busy worker must not wait on the store. `programme` names
        the programme whose own namespace the workflow runs in ('' the shared namespace).
        """
        chain = (programme, workflow_id)
        key_id = self._current.get(chain)
        if key_id is not None:
            return await self.key(key_id)
        asked = time.monotonic()  # a mapping read before a re-key must expire `ttl` after it
        rows = await self._run(CURRENT, workflow_id, programme)
        if rows:
            key = self._remember(self._unwrap(rows[0]))
        else:
            new_id = secrets.token_hex(12)
            material = AESGCM.generate_key(bit_length=256)
            made = await self._run(
                CREATE_FIRST,
                workflow_id,
                programme,
                new_id,
                self._current_master,
                self._wrap(new_id, workflow_id, programme, material),
            )
            if made:
                key = self._remember(DataKey(new_id, workflow_id, AESGCM(material), programme))
            else:  # a racing process made the chain's first key: use that one
                rows = await self._run(CURRENT, workflow_id, programme)
                if not rows:
                    raise KeyStoreUnavailable(
                        f"data keys: no current key for {workflow_id} after creating one"
                    )
                key = self._remember(self._unwrap(rows[0]))
        if time.monotonic() - asked < self.ttl:
            self._current[chain] = key.key_id
        return key

    def _remember(self, key: DataKey) -> DataKey:
        self._keys[key.key_id] = key
        return key

    async def key(self, key_id: str) -> DataKey:
        """Return the unwrapped key `key_id`; raise DataKeyDestroyed or UnknownDataKey otherwise."""
        cached = self._keys.get(key_id)
        if cached is not None:
            return cached
        rows = await self._run(ONE, key_id)
        if not rows:
            raise UnknownDataKey(key_id)
        row = rows[0]
        if row["wrapped"] is None:
            raise DataKeyDestroyed(
                key_id,
                row["workflow_id"],
                row["destroyed_at"],
                row["destroyed_by"],
                row["destroy_reason"],
                row["programme"],
            )
        key = self._unwrap(row)
        self._keys[key_id] = key
        return key

    async def chain_owner(self, workflow_id: str, programme: str, shared: str) -> str | None:
        """Return the owner of a chain whose key may be gone (`owner`, for a destroyed key)."""
        if programme:
            return programme
        rows = await self._run(OWNER, workflow_id, shared)
        return rows[0]["owner"] if rows else None

    async def owner(self, key: DataKey, shared: str) -> str | None:
        """Return the programme whose people may read what `key` seals (None: no one programme).

        A key of a programme's namespace is that programme's. One of the shared namespace (named
        `shared`) is the programme its collaboration rows there name (its deliveries' workflow
        too), read again until
        there is one: a collaboration just started names it once its first record is written.
        """
        if key.programme:
            return key.programme
        known = self._owners.get(key.key_id)
        if known is None:
            rows = await self._run(OWNER, key.workflow_id, shared)
            known = rows[0]["owner"] if rows else None
            if known is not None:
                self._owners[key.key_id] = known
        return known

    async def prepare(self, workflow_id: str, programme: str = "") -> str:
        """Create the chain's next key, not yet sealing anything; return its id (see `activate`)."""
        new_id = secrets.token_hex(12)
        wrapped = self._wrap(new_id, workflow_id, programme, AESGCM.generate_key(bit_length=256))
        await self._run(PREPARE, workflow_id, programme, new_id, self._current_master, wrapped)
        return new_id

    async def activate(self, workflow_id: str, key_id: str, programme: str = "") -> None:
        """Make `key_id` the chain's current key; older keys are retired (they still open)."""
        pool = await self._conn_pool()
        with _unavailable():
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(RETIRE, workflow_id, programme, key_id)
                status = await conn.execute(ACTIVATE, workflow_id, programme, key_id)
        if status != "UPDATE 1":
            raise UnknownDataKey(key_id)
        self._current.pop((programme, workflow_id), None)

    async def destroy(
        self, workflow_id: str, by: str, reason: str, keep: Sequence[str] = (), programme: str = ""
    ) -> list[str]:
        """Destroy every key of the chain but `keep`; return the ids destroyed (idempotent)."""
        rows = await self._run(DESTROY, workflow_id, programme, by, reason, list(keep))
        destroyed = [r["key_id"] for r in rows]
        for key_id in destroyed:
            self._keys.pop(key_id, None)
        self._current.pop((programme, workflow_id), None)
        return destroyed

    async def chain(self, workflow_id: str, programme: str = "") -> list[asyncpg.Record]:
        """Return the chain's keys, oldest first (no key material)."""
        return await self._run(
            "SELECT key_id, generation, created_at, activated_at, retired_at, destroyed_at, destroyed_by,"
            " destroy_reason FROM data_keys WHERE workflow_id = $1 AND programme = $2 ORDER BY generation",
            workflow_id,
            programme,
        )
