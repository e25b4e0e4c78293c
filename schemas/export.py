"""Write the JSON Schema of the start input to schemas/json/ (`python -m schemas.export`)."""

import json
from pathlib import Path

from schemas import CollaborationRequest

TARGET = Path(__file__).parent / "json" / "collaboration_request.schema.json"

if __name__ == "__main__":
    TARGET.write_text(json.dumps(CollaborationRequest.model_json_schema(), indent=2) + "\n")
    print(f"wrote {TARGET}")
