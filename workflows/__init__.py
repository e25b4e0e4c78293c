"""Deterministic workflow code: the collaboration workflow, its pure rules, no I/O."""
