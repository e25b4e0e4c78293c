"""Bare Temporal baselines: the same shape of work as Passerelle, with nothing of Passerelle in it.

`BareLifecycle` first runs one "lookup" activity, as a collaboration first loads its programme's
playbook (`load_playbook`), then takes updates that each await one "record" activity and, when
asked, start a "notify" activity beside it, exactly as `CollaborationWorkflow._record` does; it
ends on the update that says so, after every handler and delivery has finished.

Its activities (`bench/bare_activities.py`) send PostgreSQL the statements Passerelle's activities
send, with fixed values and dict arguments: the lookup reads the programme's playbook, the record
writes the projection, the milestone row and the outbox row in one statement, and the notify loads
the outbox row, leases its channel and marks it sent. So both sides do the same updates,
activities and database writes, and what is left between them is Passerelle's own code (its
contract, converter, state, rules, logging) and the history it writes. `python -m bench lifecycle`
counts both sides' work from their histories.

`BareIdle` waits forever (one search attribute upsert, like a collaboration's first task).
`BareTwoYears` sleeps through the same timers as a two-year stalled collaboration, recording and
notifying at each.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

BARE_QUEUE_PREFIX = "bare"
STAGE = SearchAttributeKey.for_keyword("Stage")
TIMEOUT = timedelta(seconds=30)


class _Steps:
    """The record-then-notify-beside pattern shared by the bare workflows."""

    def __init__(self) -> None:
        self._deliveries: set[asyncio.Task[Any]] = set()
        self._seq = 0
        self._pad = ""  # carried by every record: `BareLoaded` gives it a collaboration's size

    async def step(self, notifies: int) -> None:
        self._seq += 1
        info = workflow.info()
        keys = [f"{info.workflow_id}:{self._seq}:{n}" for n in range(notifies)]
        event = {"id": info.workflow_id, "run_id": info.run_id, "seq": self._seq, "keys": keys}
        if self._pad:
            event["pad"] = self._pad
        await workflow.execute_activity("bare_record", event, start_to_close_timeout=TIMEOUT)
        for key in keys:
            task = asyncio.create_task(
                workflow.execute_activity("bare_notify", {"key": key}, start_to_close_timeout=TIMEOUT)
            )
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._deliveries)


@workflow.defn
class BareLifecycle(_Steps):
    """Start with one step, take `step` updates until one says `last`."""

    def __init__(self) -> None:
        super().__init__()
        self._done = False

    @workflow.run
    async def run(self) -> int:
        """Look up, record the start, then wait for the last update."""
        await workflow.execute_activity("bare_lookup", {}, start_to_close_timeout=TIMEOUT)
        await self.step(1)
        await workflow.wait_condition(lambda: self._done)
        await self.drain()
        return 0

    @workflow.update
    async def step_update(self, args: dict[str, Any]) -> int:
        """Record one change and notify `args["notify"]` times beside it."""
        await self.step(int(args["notify"]))
        self._done = self._done or bool(args.get("last"))
        return 0


# Search attributes as a collaboration publishes them: all at its start, then what each update
# changes (the stage at updates 1, 2, 6 and 7, the outcome at the last).
KEYWORDS = ("Corporate", "Startup", "Programme", "Sector", "Stage")
STAGE_UPDATES = {1, 2, 6, 7}


@workflow.defn
class BareLoaded(BareLifecycle):
    """`BareLifecycle` loaded as a collaboration is: payloads of its sizes and its search attributes.

    Not a baseline: it says how much of the gap between Passerelle and `BareLifecycle` is the
    product's content (the record's projection and notification, the status answers, the
    Web UI's filters) rather than Passerelle's code. `load` gives the sizes to carry.
    """

    @workflow.init
    def __init__(self, load: dict[str, int]) -> None:
        super().__init__()
        self._pad = "r" * load["record"]
        self._answer = "a" * load["answer"]
        self._result = "z" * load["result"]
        self._updates = 0

    @workflow.run
    async def run(self, load: dict[str, int]) -> str:  # type: ignore[override]
        """Publish every search attribute and the memo, then live as `BareLifecycle`."""
        keys = [SearchAttributeKey.for_keyword(name) for name in KEYWORDS]
        flags = [SearchAttributeKey.for_bool(name) for name in ("Stalled", "Paused")]
        workflow.upsert_search_attributes(
            [k.value_set("bare") for k in keys] + [f.value_set(False) for f in flags]
        )
        workflow.upsert_memo({"collaboration_id": workflow.info().workflow_id})
        await super().run()
        return self._result

    @workflow.update
    async def step_update(self, args: dict[str, Any]) -> str:
        """Publish what this update changes, record and notify, answer with a status's size."""
        self._updates += 1
        if self._updates in STAGE_UPDATES:
            workflow.upsert_search_attributes([STAGE.value_set(f"stage-{self._updates}")])
        elif args.get("last"):
            workflow.upsert_search_attributes([SearchAttributeKey.for_keyword("Outcome").value_set("done")])
        await super().step_update(args)
        return self._answer


@workflow.defn
class BareIdle:
    """An open workflow that does nothing: what one idle cached workflow costs."""

    @workflow.run
    async def run(self) -> None:
        """Publish one search attribute and wait forever."""
        workflow.upsert_search_attributes([STAGE.value_set("bare")])
        await workflow.wait_condition(lambda: False)


@workflow.defn
class BareTwoYears(_Steps):
    """Sleep `timers` times `days` days, recording and notifying at each (escalating once)."""

    @workflow.run
    async def run(self, args: dict[str, Any]) -> int:
        """Wait through every timer, then record the close."""
        await self.step(1)
        for n in range(1, int(args["timers"]) + 1):
            await workflow.sleep(timedelta(days=float(args["days"])))
            await self.step(2 if n == 2 else 1)  # the 2nd reminder also escalates
        await self.step(1)
        await self.drain()
        return 0


WORKFLOWS = [BareLifecycle, BareLoaded, BareIdle, BareTwoYears]
