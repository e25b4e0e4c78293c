"""The reminder table of docs/operators.md is the schedule `workflows/domain/reminders.py` computes.

The time-skipping tests check the workflow against `reminder_days`; this checks the table people
read against the same function, so the documented schedule cannot drift from the real one.
"""

import re

from schemas import DEFAULT_STALL_DAYS, Stage
from tests.audit_cli import ROOT
from workflows.domain.reminders import MAX_REMINDERS_PER_STAGE, reminder_days

ROW = re.compile(r"^\| (\w+) \((\d+)\) \| ([\d, ]+) \| day (\d+) \|$", re.MULTILINE)


def test_the_documented_table_is_the_computed_schedule() -> None:
    rows = {m[1]: m for m in ROW.finditer((ROOT / "docs" / "operators.md").read_text())}
    assert sorted(rows) == sorted(s.value for s in Stage)
    for stage in Stage:
        _, threshold, days, escalation = rows[stage.value].groups()
        assert float(threshold) == DEFAULT_STALL_DAYS[stage]
        schedule = reminder_days(DEFAULT_STALL_DAYS[stage], 2, 730)
        assert [float(d) for d in days.split(",")] == schedule, stage
        assert float(escalation) == schedule[1]  # the 2nd unanswered reminder escalates
    assert len(reminder_days(1, 2, 730)) == MAX_REMINDERS_PER_STAGE
