"""The demo spreadsheet: realistic, deterministic, and valid for the importer."""

from collections import Counter
from datetime import date, datetime, timedelta

from passerelle.devstack.demo import DEMO_STEPS, demo_csv, demo_rows, demo_steps
from passerelle.intake.rows import parse_csv
from workflows.domain.updates import UPDATES

TODAY = date(2026, 11, 26)


def test_demo_has_the_announced_size_and_imports_cleanly() -> None:
    """500 collaborations between 90 corporates and 200 start-ups; every row valid, every pair once."""
    rows = demo_rows(TODAY)
    valid, errors = parse_csv(demo_csv(rows), "demo.csv", TODAY)
    assert (len(rows), len(valid), errors) == (500, 500, [])
    assert len({r["corporate"] for r in rows}) == 90
    assert len({r["startup"] for r in rows}) == 200
    assert len({r.workflow_id for r in valid}) == 500


def test_demo_covers_every_stage_and_outcome() -> None:
    """Open collaborations sit in every stage; closed ones end in each outcome."""
    rows = demo_rows(TODAY)
    open_stages = Counter(r["stage"] for r in rows if not r["outcome"])
    assert set(open_stages) == {"introduction", "qualification", "pilot", "evaluation", "deployment"}
    assert set(Counter(r["outcome"] for r in rows)) == {"", "deployed", "declined", "abandoned"}
    assert all(r["deployment_date"] for r in rows if r["outcome"] == "deployed")


def test_same_seed_same_file_other_seed_other_file() -> None:
    """The seed fixes the file; another seed gives another one."""
    assert demo_csv(demo_rows(TODAY, seed=7)) == demo_csv(demo_rows(TODAY, seed=7))
    assert demo_csv(demo_rows(TODAY, seed=7)) != demo_csv(demo_rows(TODAY, seed=8))


def test_demo_steps_are_valid_requests_for_imported_collaborations() -> None:
    """12 open collaborations past introduction: a meeting or demo held yesterday each, then a
    step ahead postponed, cancelled or left planned; every request valid; ids the importer's."""
    rows = demo_rows(TODAY)
    steps = demo_steps(rows, TODAY)
    valid, _ = parse_csv(demo_csv(rows), "demo.csv", TODAY)
    ids = {r.workflow_id for r in valid}
    names = Counter(name for _, updates in steps for name, _ in updates)
    assert len(steps) == DEMO_STEPS and {w for w, _ in steps} <= ids
    assert (names["plan_step"], names["step_held"], names["reschedule_step"], names["cancel_step"]) == (
        24,
        12,
        4,
        4,
    )
    for _, updates in steps:
        for name, data in updates:
            UPDATES[name].model.model_validate(data)
        assert updates[:2][1] == ("step_held", {"step": "s1", "by": "passerelle demo"})
    yesterday = datetime.fromisoformat(steps[0][1][0][1]["at"])
    assert (yesterday.date(), yesterday.utcoffset()) == (
        date(2026, 11, 25),
        timedelta(hours=1),
    )  # Paris, winter
    assert demo_steps(rows, TODAY) == steps
