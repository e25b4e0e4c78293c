"""Default workflow ids: `collab-<corporate-slug>-<startup-slug>` (docs/architecture.md §1).

Shared by `passerelle start` and `passerelle import`, so a pair gets the same id either way.
"""

import hashlib
import re
import unicodedata

from schemas import CollaborationRequest


def slug(text: str) -> str:
    """Return a lowercase ASCII slug (`Société Générale` → `societe-generale`).

    Latin letters keep their base letter, so names that differ only in case, accents or
    punctuation are one name. A letter or digit with no Latin form (`株式会社`, `Лаборатория`,
    `مختبر`) cannot be spelled in the slug: a short hash of the whole name is appended instead, so
    two such names never share a slug, and the same name always gets the same one.
    """
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = folded.encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    lost = any(ch.isalnum() and not ch.isascii() for ch in folded if unicodedata.category(ch) != "Mn")
    if not lost:
        return base or "x"
    digest = hashlib.sha256(unicodedata.normalize("NFKC", text).casefold().encode()).hexdigest()[:8]
    return f"{base}-{digest}" if base else digest


def default_workflow_id(request: CollaborationRequest) -> str:
    """Return `collab-<corporate-slug>-<startup-slug>`."""
    return f"collab-{slug(request.corporate.name)}-{slug(request.startup.name)}"
