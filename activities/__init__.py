"""All I/O the workflows ask for: Postgres records, notification delivery. One module per concern."""
