"""The latest entries a workflow keeps for the UI: few, short, and bounded in bytes.

The full record of a collaboration lives in PostgreSQL (`milestones`) and in Temporal's history;
the state keeps only what the status query shows. Notes are shortened to a preview, and the list
is cut to `RECENT_ENTRIES` or `RECENT_BYTES` of text, whichever comes first, so that the state,
the status query and the continue-as-new input stay small whatever a collaboration's age and
however long its fields are (the payload budget, docs/guarantees.md).
"""

import base64
import hashlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import HistoryEntry

# What a reader of the `status` query needs to see of the latest activity; every carried byte
# costs a worker holding the collaboration about nine (docs/benchmarks.md, long life).
RECENT_ENTRIES = 10
RECENT_BYTES = 12_000  # UTF-8 bytes of text across the kept entries: every field at its maximum fits ~5
NOTE_PREVIEW = 280  # characters of a note kept in the state; the full note is in PostgreSQL
_OVERHEAD = 200  # bytes an entry weighs besides its text (seq, kind, dates, JSON keys)


def preview(entry: HistoryEntry) -> HistoryEntry:
    """Return the entry with its note cut to `NOTE_PREVIEW` characters (… marks a cut)."""
    if len(entry.note) <= NOTE_PREVIEW:
        return entry
    return entry.model_copy(update={"note": entry.note[: NOTE_PREVIEW - 1] + "…"})


def weight(entry: HistoryEntry) -> int:
    """Return about how many bytes an entry weighs once encoded as JSON."""
    text = entry.note + entry.actor + (entry.milestone or "") + (entry.evidence_url or "")
    return len(text.encode()) + _OVERHEAD


def keep_recent(entries: list[HistoryEntry]) -> None:
    """Shorten every note and drop the oldest entries until the list is within both bounds."""
    entries[:] = [preview(e) for e in entries[-RECENT_ENTRIES:]]
    total = sum(weight(e) for e in entries)
    while len(entries) > 1 and total > RECENT_BYTES:
        total -= weight(entries.pop(0))


# Updates applied lately, by a digest of their id, carried across continue-as-new. Temporal
# applies an update id once per run; a client that sends an update again after its run
# continued-as-new (the SDK resends one its server answered only "admitted"; `passerelle` keeps
# resending for up to two minutes while Temporal sheds load, `passerelle.platform.pressure`)
# reaches the next run, which knows the id from here.
# - A digest is kept for at least `RESEND_WINDOW` of workflow time after its update was applied,
#   and at most twice that: a collaboration at rest carries none (every carried byte costs a
#   worker about five in memory, docs/benchmarks.md).
# - At most `RECENT_UPDATES` are kept: a thousand cover a resend at any rate one collaboration
#   sees (ten updates in flight at most).
# - Each is the first 64 bits of the id's SHA-256 in 11 characters, whatever the id's length:
#   the chance that a new update passes for one of a thousand kept is 1000 / 2**64.
RECENT_UPDATES = 1000
RESEND_WINDOW = timedelta(minutes=5)
DIGEST_CHARS = 11


def update_digest(update_id: str) -> str:
    """Return the 64-bit digest the state keeps of an update id, in 11 URL-safe characters."""
    return _encode(hashlib.sha256(update_id.encode()).digest()[:8])


def _encode(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _slot(now: datetime) -> int:
    return int(now.timestamp() // RESEND_WINDOW.total_seconds())


def _found(digests: str, digest: str) -> bool:
    at = digests.find(digest)
    while at != -1 and at % DIGEST_CHARS:  # only at a digest's boundary
        at = digests.find(digest, at + 1)
    return at != -1


class RecentUpdates(BaseModel):
    """The digests of the updates applied in the current `RESEND_WINDOW` slot of workflow time
    and in the one before, each end to end in one string."""

    model_config = ConfigDict(extra="forbid")

    current: str = ""
    earlier: str = ""
    slot: int | None = None  # of `current`; None: carried without a time (kept one slot more)

    def knows(self, update_id: str) -> bool:
        """Return True when `update_id` was applied lately."""
        digest = update_digest(update_id)
        return _found(self.current, digest) or _found(self.earlier, digest)

    def remember(self, update_id: str, now: datetime) -> None:
        """Keep the digest of an update applied at `now`, dropping the oldest beyond the bounds."""
        self.settle(now)
        self.current += update_digest(update_id)
        excess = len(self.earlier) + len(self.current) - RECENT_UPDATES * DIGEST_CHARS
        if excess > 0:
            cut = min(excess, len(self.earlier))
            self.earlier = self.earlier[cut:]
            self.current = self.current[excess - cut :]

    def settle(self, now: datetime) -> None:
        """Drop the digests older than the slot before `now`'s: one added in slot s is kept
        through slot s + 1, so for at least `RESEND_WINDOW`."""
        slot = _slot(now)
        if self.slot is None:  # carried without a time: kept through this slot
            self.earlier, self.current, self.slot = self.earlier + self.current, "", slot
        elif slot == self.slot + 1:
            self.earlier, self.current, self.slot = self.current, "", slot
        elif slot > self.slot + 1:
            self.earlier, self.current, self.slot = "", "", slot


def carried_updates(value: object) -> object:
    """Read `recent_updates` as a state carried by an earlier run holds it: a list of 96-bit
    digests (16 characters each), or those digests end to end; each becomes its first 64 bits."""
    if isinstance(value, list):
        value = "".join(value)
    if isinstance(value, str):
        old = [value[i : i + 16] for i in range(0, len(value), 16)]
        return RecentUpdates(current="".join(_encode(base64.urlsafe_b64decode(d)[:8]) for d in old))
    return value
