"""The latest entries a workflow keeps for the UI: few, short, and bounded in bytes.

The full record of a collaboration lives in PostgreSQL (`milestones`) and in Temporal's history;
the state keeps only what the status query shows. Notes are shortened to a preview, and the list
is cut to `RECENT_ENTRIES` or `RECENT_BYTES` of text, whichever comes first, so that the state,
the status query and the continue-as-new input stay small whatever a collaboration's age and
however long its fields are (the payload budget, docs/guarantees.md).
"""

import base64
import hashlib

from schemas import HistoryEntry

RECENT_ENTRIES = 20
RECENT_BYTES = 24_000  # UTF-8 bytes of text across the kept entries: every field at its maximum fits ~10
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
# resending for up to two minutes while Temporal sheds load) reaches the next run, which knows
# the id from here. A thousand ids cover such a resend at any rate one collaboration sees (ten
# updates in flight at most). Each is a 96-bit digest in 16 characters, whatever the id's length,
# and the state keeps them end to end in one string (16 kB at most): a worker holding a thousand
# aged collaborations holds a thousand strings, not a million.
RECENT_UPDATES = 1000
DIGEST_CHARS = 16


def update_digest(update_id: str) -> str:
    """Return the 96-bit digest the state keeps of an update id, in 16 URL-safe characters."""
    return base64.urlsafe_b64encode(hashlib.sha256(update_id.encode()).digest()[:12]).decode()


def remember_update(recent: str, update_id: str) -> str:
    """Return `recent` with an applied update's digest added, the oldest dropped beyond `RECENT_UPDATES`."""
    return (recent + update_digest(update_id))[-RECENT_UPDATES * DIGEST_CHARS :]


def applied_lately(recent: str, update_id: str) -> bool:
    """Return True when the digest of `update_id` is one of `recent`'s (at a digest's boundary)."""
    digest = update_digest(update_id)
    at = recent.find(digest)
    while at != -1 and at % DIGEST_CHARS:
        at = recent.find(digest, at + 1)
    return at != -1


def digests(value: object) -> object:
    """Read `recent_updates` as the state keeps it: a state carried from a run begun before the
    digests were kept in one string has them as a list."""
    return "".join(value) if isinstance(value, list) else value
