"""The demo spreadsheet: realistic, deterministic, and valid for the importer."""

from collections import Counter
from datetime import date

from passerelle.devstack.demo import demo_csv, demo_rows
from passerelle.intake.rows import parse_csv

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
