"""The auditor's toolkit: export, replay, read and verify a collaboration's full history.

Every function here reads Temporal histories (live, or exported JSON files) and, for `verify`,
the PostgreSQL milestone rows; nothing here writes to Temporal or to the database. The CLI
(`passerelle audit …`, `passerelle/cli/audit.py` and the `audit_*` modules beside it) is a thin
layer over these modules.
"""
