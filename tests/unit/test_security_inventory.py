"""docs/security.md names only tests that exist: each threat points at a real proof."""

import ast
import re

from tests.audit_cli import ROOT

PAGE = (ROOT / "docs/security.md").read_text()


def test_every_named_test_file_and_function_exists() -> None:
    named = re.findall(r"`(tests/[\w/]+\.py)((?:::\w+)?)`", PAGE)
    named += [(path, f"::{fn}") for path, fn in re.findall(r"`(tests/[\w/]+\.py)::\w+`, `::(\w+)`", PAGE)]
    assert len(named) >= 15, named
    for path, function in named:
        file = ROOT / path
        assert file.is_file(), path
        if function:
            names = {
                n.name
                for n in ast.walk(ast.parse(file.read_text()))
                if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)
            }
            assert function.removeprefix("::") in names, f"{path}{function}"


def test_every_security_test_file_is_in_the_inventory() -> None:
    for path in sorted((ROOT / "tests/security").glob("test_*.py")):
        assert f"tests/security/{path.name}" in PAGE, f"{path.name} is not in docs/security.md"
