"""Demo data: a realistic programme spreadsheet, generated from word lists with a fixed seed.

`passerelle demo` writes it and imports it through the real workflows, then plans a few steps
(`demo_steps`), so the report, the digest and the Web UI have something to show on a fresh
install. Names are made up (no external data); the same seed and the same `today` always give
the same file and the same steps.
"""

import csv
import io
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from passerelle.intake.ids import slug
from passerelle.intake.playbooks import PlaybookFile, read
from passerelle.intake.rows import COLUMNS, STAGE_DATE_COLUMNS
from schemas import Outcome, Stage
from schemas.steps import CALENDAR_ZONE

CORPORATE_KINDS = ["Groupe", "Banque", "Compagnie", "Société", "Crédit", "Assurances", "Laboratoires",
                   "Énergies", "Transports", "Industries"]  # fmt: skip
CORPORATE_ROOTS = ["Valmont", "Lumière", "Arvor", "Beaulieu", "Champlain", "Delorme", "Garonne", "Hexagone",
                   "Loire", "Marceau", "Méridien", "Montclair", "Rivoli", "Saint-Clair", "Vauban", "Vercors",
                   "Armor", "Alpes", "Provence", "Atlantique"]  # fmt: skip
STARTUP_HEADS = ["Neo", "Data", "Qubi", "Lumi", "Agri", "Medi", "Flo", "Vox", "Kali", "Zen", "Sola", "Terra",
                 "Hydro", "Cyber", "Nova", "Pixel", "Kine", "Opti", "Alto", "Bio"]  # fmt: skip
STARTUP_TAILS = ["ia", "lab", "ly", "io", "tech", "fy", "sense", "mind", "gen", "flow", "nest", "wave"]
LABELS = ["Next40", "FT120", "French Tech 2030", "Green20", "", "", ""]
PROGRAMMES = {
    "French Tech Corporate Community": "ftcc@programme.example",
    "Coalition Next": "coalition@programme.example",
    "French Tech Green20": "green20@programme.example",
}
SECTORS = {
    "health": ["clinical note summarisation", "remote patient monitoring", "hospital bed planning"],
    "energy": ["grid flexibility", "heat recovery", "solar forecasting"],
    "mobility": ["fleet electrification", "on-demand shuttles", "predictive rail maintenance"],
    "finance": ["fraud detection", "KYC automation", "carbon accounting"],
    "retail": ["demand forecasting", "returns reduction", "shelf analytics"],
    "industry": ["computer-vision quality control", "digital twin", "predictive maintenance"],
    "agrifood": ["precision irrigation", "food waste tracking", "crop disease detection"],
    "cyber": ["phishing simulation", "zero-trust access", "OT security monitoring"],
}
# Typical days in each stage (low, high), and the chance a collaboration ends in it instead of
# moving on: most never reach a pilot, few reach deployment.
STAY_DAYS = {
    Stage.INTRODUCTION: (5, 35),
    Stage.QUALIFICATION: (10, 50),
    Stage.PILOT: (30, 120),
    Stage.EVALUATION: (15, 60),
    Stage.DEPLOYMENT: (30, 120),
}
ENDS_IN = {Stage.INTRODUCTION: 0.25, Stage.QUALIFICATION: 0.3, Stage.PILOT: 0.3, Stage.EVALUATION: 0.2}


PLAYBOOKS = Path(__file__).parent / "playbooks"  # the demo programmes' playbooks (docs/playbooks.md)


def demo_playbooks() -> list[PlaybookFile]:
    """Return the playbooks of French Tech Corporate Community and Coalition Next."""
    return [read(path) for path in sorted(PLAYBOOKS.glob("*.toml"))]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # not str.capitalize: "OT security" keeps its capitals


def _slug_email(name: str, domain: str) -> str:
    return f"{domain}@{slug(name)}.example"


def _lifecycle(rng: random.Random, today: date) -> tuple[dict[Stage, date], Outcome | None, date | None]:
    """Return the stage dates reached by `today`, and the outcome and its date if it ended."""
    stages = list(Stage)
    # Up to two years back, more of them recent (a programme that grows): about half still open.
    dates = {Stage.INTRODUCTION: today - timedelta(days=3 + int(727 * rng.random() ** 2.2))}
    for stage, following in zip(stages, [*stages[1:], None], strict=True):
        left = dates[stage] + timedelta(days=rng.randint(*STAY_DAYS[stage]))
        if left > today:
            return dates, None, None  # still in this stage
        if following is None:  # in deployment: most go live
            return dates, Outcome.DEPLOYED if rng.random() < 0.85 else Outcome.ABANDONED, left
        if rng.random() < ENDS_IN[stage]:
            return dates, rng.choice([Outcome.DECLINED, Outcome.ABANDONED]), left
        dates[following] = left
    raise AssertionError("unreachable: deployment always returns")


def _pairs(rng: random.Random, corps: list[str], names: list[str], count: int) -> list[tuple[str, str]]:
    """Return `count` distinct pairs in which every corporate and every start-up takes part."""
    chosen = dict.fromkeys([(rng.choice(corps), s) for s in names] + [(c, rng.choice(names)) for c in corps])
    others = [(c, s) for c in corps for s in names if (c, s) not in chosen]
    pairs = list(chosen)[:count] + rng.sample(others, max(0, count - len(chosen)))
    rng.shuffle(pairs)
    return pairs


def demo_rows(
    today: date, *, seed: int = 2026, corporates: int = 90, startups: int = 200, collaborations: int = 500
) -> list[dict[str, str]]:
    """Return `collaborations` spreadsheet rows between made-up corporates and start-ups."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    corps = rng.sample([f"{k} {r}" for k in CORPORATE_KINDS for r in CORPORATE_ROOTS], corporates)
    names = rng.sample([f"{h}{t}" for h in STARTUP_HEADS for t in STARTUP_TAILS], startups)
    labels = {name: rng.choice(LABELS) for name in names}
    pairs = _pairs(rng, corps, names, collaborations)
    rows = []
    for corporate, startup in pairs:
        sector = rng.choice(list(SECTORS))
        programme = rng.choice(list(PROGRAMMES))
        dates, outcome, closed = _lifecycle(rng, today)
        stage = max(dates, key=list(Stage).index)
        row = {column: "" for column in COLUMNS}
        row |= {
            "corporate": corporate,
            "corporate_email": _slug_email(corporate, "innovation"),
            "startup": startup,
            "startup_email": _slug_email(startup, "partners"),
            "startup_label": labels[startup],
            "programme": programme,
            "topic": f"{_capital(rng.choice(SECTORS[sector]))} with {startup}",
            "sector": sector,
            "owner_email": PROGRAMMES[programme],
            "language": rng.choice(["fr", "fr", "en"]),
            "stage": stage.value,
            "outcome": outcome.value if outcome else "",
            "closed_date": closed.isoformat() if closed else "",
        }
        row |= {STAGE_DATE_COLUMNS[s]: d.isoformat() for s, d in dates.items()}
        rows.append(row)
    return rows


# A few live collaborations that stall within minutes (docs/partners.md): the newcomer sees their
# reminders reach the SMTP sink, and answers one as the partner would, from its link.
STALLING = [
    ("Groupe Vauban", "Kinesense", "remote patient monitoring"),
    ("Banque Rivoli", "Opticarbon", "carbon accounting"),
    ("Énergies Loire", "Hydroflow", "heat recovery"),
]
DEMO_STALL_DAYS = 0.002  # about 3 minutes
STALLING_PROGRAMME = "French Tech Green20"  # no playbook: nothing gates the demo's answers


def stalling_requests() -> list[tuple[str, dict[str, Any]]]:
    """Return `(workflow id, start input)` of the demo's collaborations that stall within minutes."""
    requests = []
    for n, (corporate, startup, topic) in enumerate(STALLING, start=1):
        language = "fr" if n < len(STALLING) else "en"
        requests.append(
            (
                f"demo-stalling-{n}",
                {
                    "corporate": {"name": corporate, "contact_email": _slug_email(corporate, "innovation")},
                    "startup": {"name": startup, "contact_email": _slug_email(startup, "partners")},
                    "programme": STALLING_PROGRAMME,
                    "topic": f"{_capital(topic)} with {startup}",
                    "sector": "health" if n == 1 else "finance" if n == 2 else "energy",
                    "owner_email": PROGRAMMES[STALLING_PROGRAMME],
                    "language": language,
                    "stall_after_days": {"introduction": DEMO_STALL_DAYS},
                },
            )
        )
    return requests


# Planned steps for a few open collaborations, so the report's meeting figures and the digest's
# coming steps have something to show: a meeting held yesterday (within the grace, so never
# missed), then a step ahead, postponed once, cancelled, or left as planned.
DEMO_STEPS = 12
STEP_BY = "passerelle demo"


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), ZoneInfo(CALENDAR_ZONE)).isoformat()


def demo_steps(rows: list[dict[str, str]], today: date) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Return `(workflow id, [(update, request), ...])` for the first `DEMO_STEPS` open rows past
    introduction that entered at least 20 days ago; their steps are numbered s1, s2 in order."""
    chosen = [
        r
        for r in rows
        if not r["outcome"]
        and r["stage"] in ("qualification", "pilot", "evaluation")
        and date.fromisoformat(r["introduction_date"]) <= today - timedelta(days=20)
    ][:DEMO_STEPS]
    out = []
    for n, row in enumerate(chosen):
        met = {"kind": "meeting" if n % 2 == 0 else "demo", "at": _at(today - timedelta(days=1), 9 + n % 8)}
        updates: list[tuple[str, dict[str, Any]]] = [("plan_step", met), ("step_held", {"step": "s1"})]
        ahead = today + timedelta(days=1 + n % 5)
        if n % 3 == 0:  # postponed by two days
            updates += [("plan_step", {"kind": "meeting", "at": _at(ahead, 14)})]
            updates += [("reschedule_step", {"step": "s2", "at": _at(ahead + timedelta(days=2), 14)})]
        elif n % 3 == 1:
            updates += [
                ("plan_step", {"kind": "document", "at": _at(ahead, 17)}),
                ("cancel_step", {"step": "s2"}),
            ]
        else:
            updates += [("plan_step", {"kind": "demo", "at": _at(ahead, 11)})]
        if row["stage"] == "pilot" and n % 4 == 0:  # a go/no-go date passed: overdue
            updates += [("set_decision_date", {"on": (today - timedelta(days=3)).isoformat()})]
        workflow_id = f"collab-{slug(row['corporate'])}-{slug(row['startup'])}"  # as the import names it
        out.append((workflow_id, [(name, request | {"by": STEP_BY}) for name, request in updates]))
    return out


def demo_csv(rows: list[dict[str, str]]) -> str:
    """Return the rows as a CSV file in the import template's column order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
