"""What the session's fixtures started, for helpers that run the installed CLI.

Payloads are sealed with each collaboration's data key, kept in PostgreSQL: a `passerelle`
command the tests run reads them from the session's database unless a test names another.
"""

database_url: str | None = None  # set by the `postgres_url` fixture (tests/conftest.py)
