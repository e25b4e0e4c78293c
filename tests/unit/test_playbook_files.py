"""The shipped playbooks are valid, the guide shows them as they are, and bad files are refused
with the key, the rule and the line."""

import re
from pathlib import Path

import pytest

from passerelle.devstack.demo import PLAYBOOKS, demo_playbooks
from passerelle.intake.playbooks import PlaybookRefused, parse

GUIDE = Path(__file__).parents[2] / "docs" / "playbooks.md"


def test_the_guide_shows_both_shipped_playbooks_verbatim() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), re.S)
    assert sorted(blocks) == sorted(p.read_text() for p in PLAYBOOKS.glob("*.toml"))
    assert {f.playbook.programme for f in demo_playbooks()} == {
        "Coalition Next",
        "French Tech Corporate Community",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'programme = "P"\n[gates.pilot\n',
            "not valid TOML: Expected ']' at the end of a table declaration (at line 2",
        ),
        (
            'programme = "P"\n\n[gates.declined]\n',
            "line 3: gates.declined: declined and abandoned are never gated",
        ),
        ('programme = "P"\n[gates.introduction]\n', "line 2: gates.introduction: introduction is where"),
        (
            'programme = "P"\n[gates.pilot]\nmilestones = [3]\n',
            'line 3: gates.pilot.milestones.0: must be a milestone kind, or { kind = "...", evidence = true }',
        ),
        (
            'programme = "P"\n[gates.pilot]\nscorecard = true\n',
            "gate pilot asks for a scorecard but [scorecard] is not defined",
        ),
        (
            'programme = "P"\napprovers = ["bob"]\n',
            "line 2: approvers.0: must be an e-mail address or one of corporate, startup, owner",
        ),
        (
            'programme = "P"\n[stall_after_days]\npilot = 0.00000001\n',
            "line 3: stall_after_days.pilot: must be at least 0.0001 days",
        ),
        ('programme = "P"\ncolour = "blue"\n', "line 2: colour: Extra inputs are not permitted"),
        (
            'programme = "P"\n[gates.deployment]\nscorecard = true\n[scorecard]\npass_mean = 6\n[[scorecard.criteria]]\nname = "x"\n',
            "line 5: scorecard.pass_mean: Input should be less than or equal to 5",
        ),
        ('programme = "P"\napprovers = ' + "[" * 100_000 + "]" * 100_000 + "\n", "nests deeper than"),
    ],
)
def test_a_bad_file_names_the_key_the_rule_and_the_line(text: str, expected: str) -> None:
    with pytest.raises(PlaybookRefused) as info:
        parse(text, "p.toml")
    message = str(info.value)
    assert message.startswith("p.toml: ") and expected in message, message
    assert "\n" not in message
