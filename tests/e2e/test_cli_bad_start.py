"""`passerelle start` refuses bad input before contacting Temporal, with the workflow's message."""

import json
import os
import subprocess
import sys
from pathlib import Path

from pydantic import ValidationError

from schemas import CollaborationRequest, describe_validation_error
from tests.factories import request_data

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def test_bad_start_file_is_refused_offline_with_the_same_message(tmp_path: Path) -> None:
    """Exit 2, one line naming each bad field, identical to the workflow's failure message."""
    data = request_data(owner_email="nobody", stall_after_days={"incubation": 3})
    del data["topic"]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(data))
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1"}  # nothing listens: must not be needed
    done = subprocess.run(
        [PASSERELLE, "start", "--file", str(request)], env=env, capture_output=True, text=True, timeout=60
    )
    try:
        CollaborationRequest.model_validate(data)
    except ValidationError as err:
        expected = describe_validation_error(err, "collaboration request")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {expected}"
    assert "Traceback" not in done.stderr and done.stdout == ""
