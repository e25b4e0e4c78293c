"""Hypothesis strategies for hostile input: valid documents with a few fields replaced by junk.

Each case starts from a valid document and mutates up to four paths (replace with arbitrary JSON,
hostile text, a boundary-length string, or delete; add unknown fields). The mutated paths travel
with the document, so a property can check that every rejection names a field that was touched.
"""

from typing import Any

from hypothesis import strategies as st

DELETE = object()

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
# Everything Unicode has, lone surrogates and control characters included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
HOSTILE = st.sampled_from(
    [
        "'; DROP TABLE milestones; --",
        "<script>alert(1)</script>",
        "a\r\nBcc: x@evil.example",
        "nul\x00byte",
        "esc\x1b[31m",
        "\ud800",
        "   ",
        "",
        "ops@programme.example",
        "https://evidence.example/doc",
        "pilot",
        "declined",
        "0.01",
        "1e400",
    ]
)
LENGTHS = st.sampled_from([0, 1, 39, 40, 41, 50, 51, 60, 61, 80, 81, 199, 200, 201, 3999, 4000, 4001, 10_000])
TEXT = HOSTILE | st.text(ANY_CHAR, max_size=30) | LENGTHS.map(lambda n: "é" * n)
NUMBER = st.integers(-5, 60_000) | st.floats() | st.sampled_from([0, 3650, 3651])
VALUE = st.one_of(TEXT, NUMBER, JSON, st.just(DELETE))


def _apply(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node: Any = doc
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is DELETE:
        node.pop(leaf, None)
    else:
        node[leaf] = value


def mutated(base: dict[str, Any], paths: list[str]) -> st.SearchStrategy[tuple[dict[str, Any], set[str]]]:
    """Return `(document, touched paths)`: `base` with up to four of `paths` (or unknown ones) changed."""
    keys = st.sampled_from([*paths, "unknown_field"])

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
        doc = _deep_copy(base)
        changes = draw(st.dictionaries(keys, VALUE, max_size=4))
        for path, value in changes.items():
            _apply(doc, path, value)
        return doc, set(changes)

    return build()


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
