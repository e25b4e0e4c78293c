"""When unanswered reminders fire: the schedule that backs off and stops.

After each unanswered reminder the next one waits one threshold, until the escalation; from the
escalation on, each gap doubles. The `MAX_REMINDERS_PER_STAGE`-th unanswered reminder is the last:
the programme owner is told once (`reminders_stopped`) and nothing more is sent until there is
news (a stage change, a milestone or a resume restarts the count). With the default thresholds, a
collaboration forgotten for two years gets 4 to 6 reminders in its stage (docs/operators.md, "Reminders").
"""

from datetime import datetime, timedelta

MAX_REMINDERS_PER_STAGE = 8


def next_reminder(
    now: datetime, threshold: timedelta, unanswered: int, escalate_after: int
) -> datetime | None:
    """Return when the reminder after the `unanswered`-th one fires, or None once the cap is reached.

    The one schedule of stall reminders and of approval reminders (`workflows.domain.playbook_ops`).
    """
    if unanswered >= MAX_REMINDERS_PER_STAGE:
        return None
    return now + threshold * gap_factor(unanswered, escalate_after)


def gap_factor(unanswered: int, escalate_after: int) -> int:
    """Return how many thresholds to wait after the `unanswered`-th reminder."""
    return int(2 ** max(0, unanswered - escalate_after + 1))


def reminder_days(threshold: float, escalate_after: int, horizon: float) -> list[float]:
    """Return the days (since the last news) on which reminders fire within `horizon` days."""
    days, at, unanswered = [], threshold, 1
    while at <= horizon and unanswered <= MAX_REMINDERS_PER_STAGE:
        days.append(at)
        at += threshold * gap_factor(unanswered, escalate_after)
        unanswered += 1
    return days


DUE_SOON_FRACTION = 0.2  # the last 20 % of a stage's threshold counts as "due soon"
