"""People's data rights (docs/privacy.md): what is held about a person, and its erasure."""
