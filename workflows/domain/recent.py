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
# updates in flight at most); 96-bit digests in 16 characters keep the continue-as-new input
# within its budget (about 19 kB) whatever the ids' length.
RECENT_UPDATES = 1000


def update_digest(update_id: str) -> str:
    """Return the 96-bit digest the state keeps of an update id, in 16 URL-safe characters."""
    return base64.urlsafe_b64encode(hashlib.sha256(update_id.encode()).digest()[:12]).decode()


def remember_update(recent: list[str], update_id: str) -> None:
    """Add an applied update's id to `recent`, dropping the oldest beyond `RECENT_UPDATES`."""
    recent.append(update_digest(update_id))
    del recent[:-RECENT_UPDATES]
