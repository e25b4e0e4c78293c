"""All I/O of Passerelle: Postgres records, notification delivery. One module per concern."""
