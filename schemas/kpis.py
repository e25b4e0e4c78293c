"""Programme KPIs: the funnel, conversions, time in stage and to PoC, as read from the KPI views.

`KpiFilters` narrows a report (programme, sector, corporate, and the period in which the
collaborations entered the programme: their cohort); `KpiReport` is what `passerelle report`
prints and draws; `KpiSummary` is the short header of the daily digest.
"""

from datetime import date

from pydantic import BaseModel, ConfigDict

from schemas.stages import Stage

FROZEN = ConfigDict(extra="forbid", frozen=True)


class KpiFilters(BaseModel):
    """Which collaborations a report covers; None means no filter. `to` is inclusive."""

    model_config = FROZEN

    programme: str | None = None
    sector: str | None = None
    corporate: str | None = None
    since: date | None = None
    until: date | None = None


class StageKpi(BaseModel):
    """One stage of the funnel: how many reached it, are in it now, and how long stays lasted."""

    model_config = FROZEN

    stage: Stage
    reached: int
    open: int
    stalled: int
    completed_stays: int  # collaborations that have left the stage: the durations below use them
    median_days: float | None
    p90_days: float | None
    days: list[float]  # each completed stay, in days, for the distribution chart


class KpiReport(BaseModel):
    """The funnel and stage durations of the collaborations a filter selects."""

    model_config = FROZEN

    filters: KpiFilters
    collaborations: int
    open: int
    stalled: int
    stalled_ratio: float | None  # stalled / open
    deployed: int
    declined: int
    abandoned: int
    conversion_introduction_pilot: float | None
    conversion_pilot_deployed: float | None
    stages: list[StageKpi]
    pilot_times: list["PilotKpi"] = []  # time to PoC and to decision, one per programme
    meetings: list["MeetingKpi"] = []  # time to the first meeting and the steps, one per programme
    playbooks: list["PlaybookKpi"] = []  # one per programme that runs collaborations under a playbook
    partners: "PartnerKpi | None" = None  # the partners' answers to the e-mails (docs/partners.md)


PILOT_TITLE = "Time to PoC and to decision"
# Its columns as people read them: the report's table and its workbook's sheet.
PILOT_HEADERS = (
    "programme",
    "reached pilot",
    "median days to PoC",
    "p90 days to PoC",
    "decided",
    "open",
    "median days pilot → decision",
    "p90 days pilot → decision",
)


class PilotKpi(BaseModel):
    """A programme's time to PoC (entry to the pilot's start) and from the pilot's start to its
    decision (closure or entry into deployment, whichever came first), in days: the rule is
    `kpi_pilot_times` (migrations/0014_sponsor_figures.sql)."""

    model_config = FROZEN

    programme: str
    reached_pilot: int  # the durations to PoC use them all
    poc_median_days: float | None
    poc_p90_days: float | None
    decided: int  # of those that reached the pilot: the durations to decision use them
    open: int  # of those that reached the pilot: no decision yet (in pilot or evaluation)
    decision_median_days: float | None
    decision_p90_days: float | None
    days_to_poc: list[float]  # each, in days, for the chart
    days_pilot_to_decision: list[float]


class KpiSummary(BaseModel):
    """The digest's header: open collaborations by stage and the share of them that is stalled."""

    model_config = FROZEN

    open_by_stage: dict[Stage, int]
    open: int
    stalled: int
    stalled_ratio: float | None
    partner_answers: list[str] = []  # the last day's answers, one line each (`activities.kpis`)
    # The next steps of the coming week and the decisions overdue, one line each, at most
    # `activities.kpis.LINES_SHOWN` of each, and how many more there are.
    next_steps: list[str] = []
    next_steps_more: int = 0
    decisions_overdue: list[str] = []
    decisions_overdue_more: int = 0

    def line(self) -> str:
        """Return one line such as `42 open (introduction 10, pilot 7, …); 5 stalled (11.9 %)`."""
        stages = ", ".join(f"{s.value} {self.open_by_stage.get(s, 0)}" for s in Stage)
        ratio = "—" if self.stalled_ratio is None else f"{self.stalled_ratio * 100:.1f} %"
        return f"{self.open} open ({stages}); {self.stalled} stalled ({ratio})"


MEETING_TITLE = "Time to first meeting and steps"
# Its columns as people read them: the report's table and its workbook's sheet.
MEETING_HEADERS = (
    "programme",
    "introduced",
    "met",
    "median days to first meeting",
    "p90 days to first meeting",
    "steps held",
    "postponed",
    "cancelled",
    "missed",
)


class MeetingKpi(BaseModel):
    """A programme's time from the introduction to the first meeting held (a meeting, a demo or a
    decision step; a document due is not one), in days, and its planned steps held, postponed
    (rescheduled), cancelled and missed: the rules are `kpi_step_times`
    (migrations/0015_planned_steps.sql)."""

    model_config = FROZEN

    programme: str
    introduced: int
    met: int  # of those introduced: the durations use them
    first_meeting_median_days: float | None
    first_meeting_p90_days: float | None
    steps_held: int
    steps_postponed: int
    steps_cancelled: int
    steps_missed: int
    days_to_first_meeting: list[float]  # each, in days, for the chart


class GateKpi(BaseModel):
    """One gate of a programme's playbook: how many collaborations met it, of those that faced it."""

    model_config = FROZEN

    gate: str  # the stage it leads into, or `deployed`
    faced: int  # under a playbook with this gate, they reached the stage before it
    passed: int
    pass_rate: float | None


class PlaybookKpi(BaseModel):
    """A programme's playbook figures: scores per criterion, gate pass rates, approval waits."""

    model_config = FROZEN

    programme: str
    collaborations: int  # run under one of its versions
    scorecards: int  # the latest of each evaluator, per collaboration
    criteria: dict[str, float]  # mean score (1–5) per criterion over those scorecards
    gates: list[GateKpi]
    approvals_answered: int
    approvals_approved: int
    approval_wait_median_days: float | None
    approval_wait_p90_days: float | None


class PartyKpi(BaseModel):
    """One party type's answers: how many, and how fast after the e-mail they answered."""

    model_config = FROZEN

    party: str  # startup or corporate
    answers: int
    median_hours_to_answer: float | None


class PartnerKpi(BaseModel):
    """The partners' one-click answers: the reminder answer rate, per-party speed, stalls resolved."""

    model_config = FROZEN

    reminders_sent: int
    reminders_answered: int  # reminders a partner's answer names
    answer_rate: float | None
    stalls_resolved_by_partner: int  # answers that found the collaboration stalled (and cleared it)
    parties: list[PartyKpi]


KpiReport.model_rebuild()
