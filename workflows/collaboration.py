"""`CollaborationWorkflow`: one corporate–start-up collaboration, from introduction to its outcome.

The workflow decides; activities act. Operators steer it with updates (each validated before it
enters history, each answered with the new status), the stall clock runs on durable timers, and
every recorded event becomes a milestone row through an activity. Long lives stay bounded: the
state keeps only the latest entries, update answers carry no history, and continue-as-new carries
the small `CollaborationState` with the keys of deliveries still under way.

Deterministic by construction: no I/O, no wall clock (`workflow.now()`), activities are called by
name so this module never imports asyncpg or any channel code.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # pydantic imports email_validator at the first EmailStr check; import it with the rest.
    import email_validator  # noqa: F401

    from schemas import CollaborationStatus, HistoryEntry
    from schemas.playbooks import PlaybookLoad, PlaybookLookup
    from workflows import patches, recording, rekeying, visibility
    from workflows.activity_names import LOAD_PLAYBOOK
    from workflows.alarm import Alarm
    from workflows.deliveries import Deliveries
    from workflows.delivery_policy import RECORD_RETRY, RECORD_TIMEOUT
    from workflows.domain import identity, playbook_ops, timers, views
    from workflows.domain.state import CollaborationState
    from workflows.domain.update import Update
    from workflows.handlers import Judged, declared_updates, update_id
    from workflows.requests import decode_start, decode_update, refusal, unwrap_start


@workflow.defn
@declared_updates
class CollaborationWorkflow:
    """A collaboration's durable life: stages, milestones, reminders and its outcome."""

    @workflow.init
    def __init__(self, request: Any, carried: CollaborationState | None = None) -> None:
        # State is built here, not in `run`, so that an update arriving in the very first
        # workflow task (start then update at once) already finds the collaboration.
        self._version = 0  # bumped by every change, wakes the main loop to re-arm its timer
        self._deliveries = Deliveries()
        self._invalid: ApplicationError | None = None
        self._started: HistoryEntry | None = None
        self._imported: list[HistoryEntry] = []
        self._state: CollaborationState | None = carried
        self._alarm = Alarm()  # the armed stall timer
        self._published = visibility.Published()  # search attributes upserted in this run
        self._judged: dict[str, Judged] = {}  # by update id, from its validator to its handler
        # Statements this run's validators accepted (live only, like `_judged`): a copy sent
        # before the first one's handler remembered it (`state.vouched`) is refused too.
        self._claimed: set[str] = set()
        # A new collaboration reads its playbook first; updates wait for it (`_apply`).
        self._loading = False
        if carried is not None and workflow.info().continued_run_id is None:
            # Only a run's own continue-as-new carries state: a client that starts a run with
            # one (a forged pending approval, a stage it never reached) is refused.
            self._invalid = ApplicationError(
                "invalid collaboration request: carried: only a continue-as-new carries state",
                type="InvalidCollaborationRequest",
                non_retryable=True,
            )
            return
        if carried is not None:
            carried.runs += 1
            # Only the status query, update answers and the next continue-as-new input read the
            # kept entries, never a command: cutting them is safe on replay of any history.
            carried.keep_recent()
            self._bounded()  # settles the patch in the run's first task
            return
        strict = self._bounded()
        try:
            value, actor = unwrap_start(request, accepted=workflow.unsafe.is_replaying())
            valid = decode_start(value, strict=strict, refuses_hidden=self._refuses_hidden)
            with refusal():
                identity.admit_start(actor, valid.programme, workflow.now())
        except ApplicationError as err:
            self._invalid = err
            return
        info = workflow.info()
        self._state = CollaborationState.begin(
            valid, info.workflow_id, info.first_execution_run_id, workflow.now()
        )
        with self._state.acting(actor):  # seq 1, whatever comes next
            self._started = self._state.start_entry(workflow.now(), by=actor.email if actor else None)
        self._imported = self._state.import_entries(workflow.now())  # empty unless imported
        self._loading = self._reads_playbook()

    @workflow.run
    async def run(self, request: Any, carried: CollaborationState | None = None) -> CollaborationStatus:
        """Run the collaboration until it reaches an outcome; return its final status."""
        if self._invalid is not None:
            raise self._invalid
        state = self._started_state()
        self._publish()
        self._publish_memo()
        if self._bounded():
            for key in state.pending_deliveries:  # handed over by the previous run
                self._deliveries.start(state, key)
            state.pending_deliveries = []
        adopted = []
        if self._loading:
            load = await self._load_playbook(PlaybookLookup(programme=state.request.programme))
            adopted = playbook_ops.start_under(state, load, workflow.now())
            if adopted:  # a change: an update judged before it is judged again, under the playbook
                self._version += 1
            self._loading = False
            self._publish()
        if self._started is not None:
            await self._record([self._started, *self._imported, *adopted])
        await rekeying.destroy_old_keys(state)  # this run follows an erasure: its input is under the new key

        while state.outcome is None:
            if self._continue_as_new_due():
                if rekeying.due(state):
                    await rekeying.activate(state)
                await self._deliveries.drain(state, handover=self._bounded(), prompt=self._prompt)
                if state.outcome is not None:  # closed while draining: complete, no empty run
                    break
                state.recent_updates.settle(workflow.now())  # what is older than a resend, goes
                identity.remember(state.vouched, None, workflow.now())  # and stale statements
                workflow.continue_as_new(args=[state.request, state])
            seen, now = self._version, workflow.now()
            armed = timers.duties(state, backoff=self._bounded(), plans=self._plans)
            due = timers.first_due(armed, now)
            if due is not None and due.fire is not None:
                await self._change(due.fire)
                continue
            wake = timers.soonest(armed, now)
            if await self._wait(seen, wake.at if wake else None, wake.why if wake else ""):
                self._publish()  # the SLA moved on; a duty now due fires next time round
        self._alarm.disarm()
        await workflow.wait_condition(workflow.all_handlers_finished)  # the closing one records first
        if self._hands_off():  # closed means closed: the deliveries go on in a child of their own
            await self._deliveries.hand_off(state)
        else:
            await self._deliveries.drain(state, handover=False)  # each delivery ends within its window
        return views.status(state, workflow.now())

    @workflow.query
    def status(self) -> CollaborationStatus:
        """Return the collaboration as it stands now."""
        return views.status(self._started_state(), workflow.now())

    # -- internals --

    def _started_state(self) -> CollaborationState:
        """Return the state, or refuse: a run whose start input was invalid has none."""
        if self._state is None:
            raise ApplicationError(
                "the collaboration did not start: its input is invalid", type="NotStarted", non_retryable=True
            )
        return self._state

    # -- updates: each is declared once (`workflows.domain.update`); `workflows.handlers` makes
    # its handler and validator, which call these --

    def _check(self, update: Update[Any, Any], request: Any) -> None:
        """Decode an update's argument and run its rule once; refuse it as final when either fails.

        What the rule found is kept for the handler, which runs next in the same task. An update
        a previous run applied is accepted as it is: its handler answers without applying it
        again (`_repeated`)."""
        if self._repeated():
            return
        state = self._started_state()
        valid = decode_update(update.model, request, update.name)
        with refusal():
            identity.admit(update.role, valid, state.request.programme, workflow.now())
            identity.unused(state.vouched.keys() | self._claimed, valid)
            verdict = update.rule(state, valid)
        self._judged[update_id()] = Judged(valid, verdict, self._version)
        if valid.actor is not None and valid.actor.statement is not None:
            self._claimed.add(valid.actor.statement)  # a copy in the same task is refused too

    async def _apply(self, update: Update[Any, Any], request: Any) -> CollaborationStatus:
        """Apply the update's operation with what its rule found.

        The rule runs again only when its verdict is missing (on replay validators do not run)
        or stale (the state changed while it waited: the playbook read at the start, or another
        update first)."""
        if self._repeated():
            return views.status(self._started_state(), workflow.now(), with_history=False)
        judged = self._judged.pop(update_id(), None)
        valid = judged.request if judged else decode_update(update.model, request, update.name, accepted=True)
        if self._loading or update.fetch:  # its gates apply to this update too
            # An update that reads first has always waited here, loading or not: its activity
            # is scheduled where its histories have it.
            await workflow.wait_condition(lambda: not self._loading)
        state = self._started_state()
        fetched = await self._load_playbook(update.fetch(state, valid)) if update.fetch else None

        def apply(now: datetime) -> list[HistoryEntry]:
            verdict = (
                judged.verdict if judged and judged.version == self._version else update.rule(state, valid)
            )
            with state.acting(valid.actor):
                return [update.operation(state, valid, fetched if update.fetch else verdict, now)]

        status = await self._change(apply)
        state.recent_updates.remember(update_id(), workflow.now())
        identity.remember(state.vouched, valid.actor, workflow.now())
        return status

    def _repeated(self) -> bool:
        """Return whether the update being handled was applied already, by a run before this one.

        Temporal applies an update id once per run only: one sent again after its run
        continued-as-new reaches this run (`workflows.domain.recent.RECENT_UPDATES`)."""
        info = workflow.current_update_info()
        state = self._state
        return info is not None and state is not None and state.recent_updates.knows(info.id)

    async def _load_playbook(self, lookup: PlaybookLookup) -> PlaybookLoad:
        load: PlaybookLoad = await workflow.execute_activity(
            LOAD_PLAYBOOK,
            lookup,
            result_type=PlaybookLoad,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"playbook of {lookup.programme}",
        )
        return load

    def _current(self) -> bool:
        # Asked first, in the run's first task, so that a new run records this marker alone; a
        # run without it (begun by an earlier release) asks each earlier patch as it always did.
        return patches.SETTLED_04.applies()

    def _settled(self) -> bool:
        return self._current() or patches.SETTLED.applies()

    def _bounded(self) -> bool:
        return self._settled() or patches.BOUNDED_LIFE.applies()

    def _reads_playbook(self) -> bool:
        return self._settled() or patches.PLAYBOOKS.applies()

    def _hands_off(self) -> bool:
        return self._deliveries.busy(self._started_state()) and self._prompt()

    def _prompt(self) -> bool:
        # A run begun before `settled-0.4` asks only when deliveries are under way: it records
        # this marker where it matters, if anywhere.
        return self._current() or patches.PROMPT_CLOSE.applies()

    def _plans(self) -> bool:
        # Asked only by a run with a planned step or a decision date, when it arms their timers.
        return patches.PLANNED_STEPS.applies()

    def _refuses_hidden(self) -> bool:
        return patches.VISIBLE_TEXT.applies()

    async def _change(self, apply: Callable[[Any], list[HistoryEntry]]) -> CollaborationStatus:
        """Apply a change now, record what it produced, and return the new status."""
        state = self._started_state()
        with refusal():  # a rule run again (replay, or a stale verdict) refuses
            entries = apply(workflow.now())
        self._version += 1
        self._publish()
        await self._record(entries)
        # No history in the answer: Temporal stores every answer, and the record is in PostgreSQL.
        return views.status(state, workflow.now(), with_history=False)

    async def _record(self, entries: list[HistoryEntry]) -> None:
        await recording.record(
            self._started_state(), entries, self._deliveries, bounded=self._bounded(), settled=self._settled()
        )

    async def _wait(self, seen: int, wake: datetime | None, why: str) -> bool:
        """Wait for a change or until `wake`; return True when the wake-up time came."""

        def ready() -> bool:
            return self._version != seen or self._continue_as_new_due()

        self._alarm.arm(wake, why)
        await workflow.wait_condition(lambda: ready() or self._alarm.rang())
        return self._alarm.answer()

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        limit = self._started_state().request.continue_as_new_after_events
        too_long = limit is not None and info.get_current_history_length() >= limit
        return too_long or info.is_continue_as_new_suggested() or rekeying.due(self._started_state())

    def _publish_memo(self) -> None:
        """Show the collaboration id (the key of its Postgres rows) in the Web UI's memo, every run."""
        if not self._settled():
            patches.MEMO.deprecate()
        workflow.upsert_memo({"collaboration_id": self._started_state().collaboration_id})

    def _publish(self) -> None:
        """Keep search attributes and the Web UI's current details in step with the state."""
        state = self._started_state()
        if not self._settled():
            patches.LEAN_COMMANDS.deprecate()
        updates = self._published.changes(visibility.attributes(state))
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(views.current_details(state, workflow.now()))
