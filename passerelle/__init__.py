"""Passerelle's edge: configuration, the Temporal client, logging, the embedded dev stack, the CLI."""
