"""The operator of programme A neither reads nor steers programme B, by any client.

Two programmes, each in a namespace of its own, on the suite's real Temporal dev server and
PostgreSQL, a real OpenID provider and the real codec server. The dev server enforces no JWT
authorisation (production adds the server's own, docs/deployment.md): what is tested here is what
the project owns, the codec server, `passerelle` and the worker.
"""

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue

from passerelle.devstack.servers import find_binary
from passerelle.platform.codec import KEY_ID
from schemas.actors import REFUSED_ENCODING, REFUSED_REASON
from tests.e2e.cli import assert_one_line_error, eventually, passerelle
from tests.factories import request_data
from tests.programmes.conftest import PEOPLE, SLUG_A, SLUG_B, A, B, Programmes

OLGA = PEOPLE["olga"]["email"]


async def start_in(programmes: Programmes, person: str, programme: str, tmp_path: Path) -> str:
    """Start a collaboration of `programme` as `person`, through `passerelle`; return its id."""
    workflow_id = f"iso-{uuid.uuid4().hex[:8]}"
    request = tmp_path / f"{workflow_id}.json"
    request.write_text(json.dumps(request_data(programme=programme)))
    started = await passerelle(programmes.envs[person], "start", "--file", str(request), "--id", workflow_id)
    assert started.code == 0, started
    return workflow_id


async def sealed_payloads(programmes: Programmes, slug: str, workflow_id: str) -> Payloads:
    """Every sealed payload of a workflow's history, as Temporal holds them."""
    history = await programmes.raw(slug).get_workflow_handle(workflow_id).fetch_history()
    found = Payloads()
    for event in history.events:
        for attributes in (
            event.workflow_execution_started_event_attributes.input,
            event.activity_task_scheduled_event_attributes.input,
            event.activity_task_completed_event_attributes.result,
        ):
            found.payloads.extend(p for p in attributes.payloads if KEY_ID in p.metadata)
    assert found.payloads, "the history holds sealed payloads"
    return found


async def decode(programmes: Programmes, person: str, namespace: str, payloads: Payloads) -> httpx.Response:
    """Ask the codec server to decode as `person` would from the Web UI of `namespace`."""
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{programmes.codec_url}/decode",
            content=json_format.MessageToJson(payloads),
            headers={
                "Authorization": f"Bearer {programmes.tokens[person]}",
                "X-Namespace": namespace,
                "Content-Type": "application/json",
            },
        )


async def test_the_operator_of_a_reads_nothing_of_b_through_the_codec_server(
    programmes: Programmes, tmp_path: Path
) -> None:
    ours = await start_in(programmes, "olga", A, tmp_path)
    theirs = await start_in(programmes, "bruno", B, tmp_path)
    b_payloads = await sealed_payloads(programmes, SLUG_B, theirs)
    ns_a, ns_b = programmes.namespaces[SLUG_A], programmes.namespaces[SLUG_B]

    as_b = await decode(programmes, "olga", ns_b, b_payloads)
    assert as_b.status_code == 403 and f"no role in programme {SLUG_B}" in as_b.json()["error"], as_b.text
    from_a = await decode(programmes, "olga", ns_a, b_payloads)  # B's payloads sent from A's page
    assert from_a.status_code == 403 and f"sealed for programme {SLUG_B}" in from_a.json()["error"], (
        from_a.text
    )
    assert A not in from_a.text and B not in from_a.text

    ours_sealed = await sealed_payloads(programmes, SLUG_A, ours)
    # Even what her laptop sent through the codec server is under the collaboration's data key,
    # so an erasure of the collaboration reaches it too.
    assert {p.metadata[KEY_ID][:3] for p in ours_sealed.payloads} == {b"dk:"}
    own = await decode(programmes, "olga", ns_a, ours_sealed)
    assert own.status_code == 200 and A in opened(own), "the same person reads her own programme"
    bruno = await decode(programmes, "bruno", ns_b, b_payloads)
    assert bruno.status_code == 200 and B in opened(bruno)
    national = await decode(programmes, "nina", ns_b, b_payloads)
    assert national.status_code == 200, "a role in every programme reads every programme"


def opened(response: httpx.Response) -> str:
    """Return the data of the payloads a decode answered, as text."""
    answer = json_format.Parse(response.text, Payloads())
    return " ".join(p.data.decode(errors="replace") for p in answer.payloads)


def temporal(programmes: Programmes, person: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the Temporal CLI with the codec server, as `person`."""
    codec = ["--codec-endpoint", programmes.codec_url, "--codec-auth", f"Bearer {programmes.tokens[person]}"]
    return subprocess.run(
        [find_binary("temporal"), *args, "--address", programmes.address, *codec],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_operator_of_a_steers_nothing_of_b_through_the_temporal_cli_or_passerelle(
    programmes: Programmes, tmp_path: Path
) -> None:
    theirs = await start_in(programmes, "bruno", B, tmp_path)
    ns_b = programmes.namespaces[SLUG_B]

    steer = await asyncio.to_thread(
        temporal, programmes, "olga", "workflow", "update", "execute", "--namespace", ns_b, "-w", theirs,
        "--name", "pause", "--input", json.dumps({"reason": "competitor"}),
    )  # fmt: skip
    assert steer.returncode != 0 and f"no role in programme {SLUG_B}" in steer.stderr, steer
    read = await asyncio.to_thread(
        temporal,
        programmes,
        "olga",
        "workflow",
        "query",
        "--namespace",
        ns_b,
        "-w",
        theirs,
        "--name",
        "status",
    )
    assert read.returncode != 0 and f"no role in programme {SLUG_B}" in read.stderr, read

    env = programmes.envs["olga"]
    chosen = await passerelle(
        env, "--programme", SLUG_B, "pause", theirs, "--reason", "competitor", "--by", OLGA
    )
    assert_one_line_error(chosen, 1, f"your login holds no role in programme {SLUG_B}", f"yours: {SLUG_A}")
    own_namespace = await passerelle(env, "pause", theirs, "--reason", "competitor", "--by", OLGA)
    assert own_namespace.code != 0 and "not found" in own_namespace.err, own_namespace
    status = await passerelle(env, "status", theirs)
    assert status.code != 0 and "not found" in status.err and B not in status.err, status

    # Nothing reached B's collaboration: it runs unpaused, as its own operator sees.
    seen = await passerelle(programmes.envs["bruno"], "status", theirs, "--json")
    assert seen.code == 0 and json.loads(seen.out)["paused"] is False, seen
    # A role in every programme finds it without naming its programme.
    national = await passerelle(programmes.envs["nina"], "status", theirs, "--json")
    assert national.code == 0 and json.loads(national.out)["programme"] == B, national


async def test_the_list_and_the_search_attributes_of_b_are_not_visible_from_a(
    programmes: Programmes, tmp_path: Path
) -> None:
    ours = await start_in(programmes, "olga", A, tmp_path)
    theirs = await start_in(programmes, "bruno", B, tmp_path)

    async def listed() -> str:
        shown = await passerelle(programmes.envs["olga"], "list", "--json")
        assert shown.code == 0 and ours in shown.out, shown
        return shown.out

    out = await eventually(listed)
    assert theirs not in out and B not in out

    async def visible_in_a() -> set[str]:
        found = {w.id async for w in programmes.raw(SLUG_A).list_workflows(f"Programme = '{B}'")}
        mine = {w.id async for w in programmes.raw(SLUG_A).list_workflows(f"Programme = '{A}'")}
        assert ours in mine
        return found

    assert theirs not in await eventually(visible_in_a), "B's search attributes are not in A's namespace"
    described = await programmes.raw(SLUG_B).get_workflow_handle(theirs).describe()
    assert described.search_attributes.get("Programme") == [B], "they are in B's own"


async def test_a_payload_of_b_copied_into_a_is_refused_and_a_runs_on(
    programmes: Programmes, tmp_path: Path
) -> None:
    ours = await start_in(programmes, "olga", A, tmp_path)
    theirs = await start_in(programmes, "bruno", B, tmp_path)
    copied = (await sealed_payloads(programmes, SLUG_B, theirs)).payloads[0]
    handle = programmes.raw(SLUG_A).get_workflow_handle(ours)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("pause", RawValue(copied))
    assert f"sealed for programme {SLUG_B}" in str(refused.value.cause), refused.value.cause
    # The collaboration took nothing and answers as before: no failed task, no retry.
    seen = await passerelle(programmes.envs["olga"], "status", ours, "--json")
    assert seen.code == 0 and json.loads(seen.out)["paused"] is False, seen
    history = await handle.fetch_history()
    assert not any(e.workflow_task_failed_event_attributes.ByteSize() for e in history.events)


async def test_one_id_in_two_programmes_is_steered_only_where_the_caller_says(
    programmes: Programmes, tmp_path: Path
) -> None:
    both = f"iso-{uuid.uuid4().hex[:8]}"
    for person, programme in (("olga", A), ("bruno", B)):
        request = tmp_path / f"{person}.json"
        request.write_text(json.dumps(request_data(programme=programme)))
        started = await passerelle(programmes.envs[person], "start", "--file", str(request), "--id", both)
        assert started.code == 0, started
    own = await passerelle(programmes.envs["olga"], "status", both, "--json")
    assert own.code == 0 and json.loads(own.out)["programme"] == A, "each operator finds their own"
    national = programmes.envs["nina"]
    ambiguous = await passerelle(national, "status", both)
    assert_one_line_error(ambiguous, 1, f"{both} runs in", "say which programme with --programme")
    chosen = await passerelle(national, "--programme", SLUG_B, "status", both, "--json")
    assert chosen.code == 0 and json.loads(chosen.out)["programme"] == B, chosen


async def test_a_form_of_no_namespaced_programme_is_not_sealed_with_the_master_key(
    programmes: Programmes,
) -> None:
    """A sponsor (no programme to read) posting a form in the shared namespace gets a refused
    payload, never one under the bare master key, which a worker of any namespace would open."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{programmes.codec_url}/encode",
            content=json_format.MessageToJson(
                Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
            ),
            headers={
                "Authorization": f"Bearer {programmes.tokens['sam']}",
                "X-Namespace": "default",
                "Content-Type": "application/json",
            },
        )
    assert answer.status_code == 200, answer.text
    (payload,) = json_format.Parse(answer.text, Payloads()).payloads
    assert (
        payload.metadata["encoding"] == REFUSED_ENCODING
        and b"name the programme" in payload.metadata[REFUSED_REASON]
    )


async def test_an_erasure_is_an_admins(programmes: Programmes, postgres_url: str) -> None:
    env = {**programmes.envs["olga"], "PASSERELLE_DATABASE_URL": postgres_url}
    refused = await passerelle(
        env, "privacy", "erase", "--email", "x@natixis.example", "--by", OLGA, "--reason", "r"
    )
    assert_one_line_error(refused, 1, f"an erasure is an admin's: your login is not the admin of {SLUG_A}")
