"""Visibility queries built by the CLI: filters combined, values quoted so they stay values."""

from passerelle.cli.visibility import build_query, quote, restrict


def test_quote_escapes_backslashes_and_double_quotes() -> None:
    """A value with quotes and backslashes becomes one literal."""
    assert quote('L\'Oréal "Labs" \\ x') == '"L\'Oréal \\"Labs\\" \\\\ x"'


def test_default_query_lists_running_collaborations_only() -> None:
    """Without filters: collaborations that are still running."""
    assert build_query() == 'WorkflowType = "CollaborationWorkflow" AND ExecutionStatus = "Running"'


def test_filters_are_and_ed_and_all_includes_closed() -> None:
    """Each filter adds one clause; --all drops the running-only clause."""
    query = build_query(stage="pilot", stalled=True, corporate='x" OR "1"="1', include_closed=True)
    assert query == (
        'WorkflowType = "CollaborationWorkflow" AND Stage = "pilot" '
        'AND Corporate = "x\\" OR \\"1\\"=\\"1" AND Stalled = true'
    )


def test_bulk_query_is_wrapped_and_narrowed_to_running_collaborations() -> None:
    """An operator's OR cannot escape the running-collaborations scope."""
    assert restrict('Stage = "pilot" OR Paused = true').endswith('AND (Stage = "pilot" OR Paused = true)')
    assert restrict("x").startswith('WorkflowType = "CollaborationWorkflow" AND ExecutionStatus = "Running"')
