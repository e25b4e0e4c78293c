"""Default workflow ids: `collab-<corporate-slug>-<startup-slug>` (docs/architecture.md §1).

Shared by `passerelle start` and `passerelle import`, so a pair gets the same id either way.
"""

import re
import unicodedata

from schemas import CollaborationRequest


def slug(text: str) -> str:
    """Return a lowercase ASCII slug (`Société Générale` → `societe-generale`)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


def default_workflow_id(request: CollaborationRequest) -> str:
    """Return `collab-<corporate-slug>-<startup-slug>`."""
    return f"collab-{slug(request.corporate.name)}-{slug(request.startup.name)}"
