"""The public vouching keys: registered by whoever signs, read by whoever checks.

The codec server and the partner portal register the public half of each of their
`PASSERELLE_VOUCHING_KEYS` in the append-only `vouching_keys` table when they start
(`register`). Workers and `passerelle audit` check statements against what the table holds
(`Keyring`), read again when a statement names a key id they have not seen, so a key a voucher
registered a moment ago is known at once. The keys of this process's own signer count too, so a
process without a database (the tests' pure paths) checks its own statements.
"""

import asyncio
import time
from collections.abc import Mapping, Sequence

import asyncpg
import structlog

from passerelle.platform.vouching import Signer, fingerprint

log = structlog.get_logger()

REREAD_GAP = 2.0  # seconds between two reads of the table for unknown key ids

REGISTER = """
INSERT INTO vouching_keys (key_id, public_key, fingerprint) VALUES ($1, $2, $3)
ON CONFLICT (key_id) DO NOTHING
RETURNING key_id
"""
READ = "SELECT key_id, public_key FROM vouching_keys"
FIRST_USE = """
WITH mine AS (
    INSERT INTO vouched_uses (statement, workflow_id) VALUES ($1, $2)
    ON CONFLICT (statement) DO NOTHING RETURNING workflow_id
)
SELECT workflow_id FROM mine UNION ALL SELECT workflow_id FROM vouched_uses WHERE statement = $1
LIMIT 1
"""


class KeysUnavailable(RuntimeError):
    """The table could not be read for a key id this process has not seen."""


class KeyIdReused(SystemExit):
    """A vouching key id already registered with another public key."""


async def register(url: str, signer: Signer) -> None:
    """Register every public key of `signer`; refuse a key id that names another key."""
    conn = await asyncpg.connect(url)
    try:
        for kid, public in signer.public_keys().items():
            await conn.execute(REGISTER, kid, public, fingerprint(public))
            known: bytes = await conn.fetchval("SELECT public_key FROM vouching_keys WHERE key_id = $1", kid)
            if bytes(known) != public:
                raise KeyIdReused(
                    f"PASSERELLE_VOUCHING_KEYS: key id {kid!r} is registered with another key; "
                    "give a new key a new id (histories name the old one)"
                )
    finally:
        await conn.close()
    log.info("vouching keys registered", key_ids=[kid for kid, _ in signer.keys])


class Keyring:
    """The public vouching keys a process knows, by key id."""

    def __init__(self, url: str | None, own: Signer | None = None) -> None:
        self._url = url
        self._keys: dict[str, bytes] = dict(own.public_keys()) if own else {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the table now (a worker does at start, so a missing grant shows at once)."""
        if self._url is not None:
            try:
                await self._read()
            except asyncpg.InsufficientPrivilegeError:
                raise SystemExit(
                    "this database role may not read the vouching keys: run `passerelle migrate "
                    "--grant-worker ROLE` as the owner role"
                ) from None

    def add(self, keys: Mapping[str, bytes]) -> None:
        """Know `keys` too (an export's `vouching_keys.json`, for an audit offline)."""
        self._keys.update(keys)

    async def known(self) -> dict[str, bytes]:
        """Return every key the table and this process know (what an export carries)."""
        if self._url is not None:
            await self._read()
        return dict(self._keys)

    async def __call__(self, ids: Sequence[str]) -> Mapping[str, bytes]:
        """Return the known keys among `ids`, reading the table again for an unknown one.

        Reads are at least `REREAD_GAP` apart: a key registered a moment after the last read
        waits for the next one, so that a stream of made-up key ids costs one read per gap.
        """
        if any(i not in self._keys for i in ids) and self._url is not None:
            async with self._lock:
                if any(i not in self._keys for i in ids):
                    await asyncio.sleep(max(0.0, self._read_at + REREAD_GAP - time.monotonic()))
                    try:
                        await self._read()
                    except (OSError, asyncpg.PostgresError) as err:
                        # Not "unknown key": that would refuse (or, on replay, judge anew) an
                        # action whose key is only out of reach. The decode fails and is retried.
                        raise KeysUnavailable(
                            f"cannot read the vouching keys ({type(err).__name__})"
                        ) from err
        return {i: self._keys[i] for i in ids if i in self._keys}

    async def first_use(self, statement: str, workflow_id: str) -> str | None:
        """Return the workflow that first used `statement`, recording `workflow_id` when it is
        the first; None without a database. A database out of reach fails the decode, which is
        retried, rather than judge an action without knowing."""
        if self._url is None:
            return None
        try:
            conn = await asyncpg.connect(self._url)
            try:
                first: str | None = await conn.fetchval(FIRST_USE, statement, workflow_id)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as err:
            raise KeysUnavailable(f"cannot read the statements' first uses ({type(err).__name__})") from err
        return first

    async def _read(self) -> None:
        assert self._url is not None
        conn = await asyncpg.connect(self._url)
        try:
            rows = await conn.fetch(READ)
        finally:
            await conn.close()
        self._keys.update({row["key_id"]: bytes(row["public_key"]) for row in rows})
        self._read_at = time.monotonic()
