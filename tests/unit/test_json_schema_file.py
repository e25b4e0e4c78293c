"""The committed JSON Schema of the start input matches the model (regenerate: see docs/operators.md)."""

import json
from pathlib import Path

from schemas import CollaborationRequest

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "json" / "collaboration_request.schema.json"


def test_committed_schema_is_current() -> None:
    """schemas/json/collaboration_request.schema.json is what the model exports today."""
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == CollaborationRequest.model_json_schema(), "regenerate with: python -m schemas.export"
