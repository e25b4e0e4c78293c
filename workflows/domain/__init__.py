"""The pure domain of a collaboration: its state, its rules and every update's declaration.

Nothing here imports the Temporal SDK, does I/O or reads a clock (`now` is passed in), so the
same code runs in the workflow, in replay, in `passerelle bulk`'s client-side checks and in unit
tests. The Temporal-facing code (`workflows.collaboration` and its neighbours) applies it.
"""
