"""Benchmarks of Passerelle against Temporal itself, side by side in one run (`python -m bench`)."""
