"""Ordered SQL migrations (`NNNN_name.sql`), applied by `passerelle migrate` and at worker start."""
