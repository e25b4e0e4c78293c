"""Every module reaches Temporal through `passerelle.platform.client`, so none can forget the keys.

A client or converter built by hand reads and writes payloads in clear whatever the settings say:
the auditors' commands once failed on every encrypted history for exactly that reason. This reads
the code (AST) of the project and of its tests and fails on any of:
- `Client.connect(...)` outside `passerelle/platform/client.py` (use `client_for(settings)`), and
  `ServiceClient.connect(...)` outside `passerelle/platform/service.py` (the visibility reads
  of `list`, which carry no payload);
- `pydantic_data_converter`, `DataConverter(...)` or `EncryptionCodec(...)` in the product outside
  `passerelle/platform/client.py` and `passerelle/platform/codec.py` (use `converter_for(settings)` / `codec_for`);
- a `data_converter=` that is neither `converter_for(...)` nor another client's `.data_converter`;
- a `Replayer`, `WorkflowEnvironment.start_local` or `start_time_skipping` with no `data_converter=`
  (their default converter ignores the keys).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["passerelle", "activities", "workflows", "schemas", "bench", "worker.py"]
FACTORY = {Path("passerelle/platform/client.py"), Path("passerelle/platform/codec.py")}
NEEDS_CONVERTER = {"Replayer", "start_local", "start_time_skipping"}


def sources(*roots: str) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        path = ROOT / root
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [p for p in found if ".venv" not in p.parts]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def violations(path: Path, product: bool) -> list[str]:
    """Return `file:line: what` for each way around the factory in one file."""
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if relative in FACTORY:
        return []
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "connect" and _name(func.value) == "Client":
                found.append(f"{where}: Client.connect (use passerelle.platform.client.client_for)")
            service = relative == Path("passerelle/platform/service.py")
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "connect"
                and _name(func.value) == "ServiceClient"
            ):
                if not service:
                    found.append(
                        f"{where}: ServiceClient.connect (use passerelle.platform.service.service_for)"
                    )
            if product and _name(func) in ("DataConverter", "EncryptionCodec"):
                found.append(f"{where}: {_name(func)}(...) built by hand (use converter_for / codec_for)")
            keywords = {k.arg: k.value for k in node.keywords}
            if _name(func) in NEEDS_CONVERTER and "data_converter" not in keywords:
                found.append(f"{where}: {_name(func)} without data_converter= (its default ignores the keys)")
            converter = keywords.get("data_converter")
            if converter is not None:
                from_factory = isinstance(converter, ast.Call) and _name(converter.func) == "converter_for"
                borrowed = isinstance(converter, ast.Attribute) and converter.attr == "data_converter"
                if not (from_factory or borrowed):
                    found.append(f"{where}: data_converter= not from converter_for(settings)")
        if product and isinstance(node, ast.Name) and node.id == "pydantic_data_converter":
            found.append(f"{where}: pydantic_data_converter used directly (use converter_for)")
    return found


def test_the_product_and_the_tests_reach_temporal_only_through_the_factory() -> None:
    """No module connects, or decodes, with a client or converter of its own making."""
    found = [v for p in sources(*PRODUCT) for v in violations(p, product=True)]
    found += [v for p in sources("tests") for v in violations(p, product=False)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        "client = await Client.connect('localhost:7233')",
        "replayer = Replayer(workflows=[W])",
        "replayer = Replayer(workflows=[W], data_converter=pydantic_data_converter)",
        "env = await WorkflowEnvironment.start_local()",
        "converter = DataConverter(payload_codec=codec)",
    ],
)
def test_the_check_catches_each_way_around(code: str, tmp_path: Path) -> None:
    """Each pattern the check bans is found in a file that uses it."""
    module = tmp_path / "probe.py"
    module.write_text(f"async def probe():\n    {code}\n")
    assert violations(module, product=True), code
