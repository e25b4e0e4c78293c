"""Names of the activities (and the child workflow) the workflow calls.

The workflow calls activities by name so that it never imports their modules (asyncpg, SMTP,
HTTP clients); the activity classes register under these same names.
"""

RECORD_EVENTS = "record_events"
NOTIFY = "notify"
LIST_STALLED = "list_stalled"
KPI_SUMMARY = "kpi_summary"
DELIVER = "deliver"
LOAD_PLAYBOOK = "load_playbook"
ACTIVATE_DATA_KEY = "activate_data_key"
DESTROY_DATA_KEYS = "destroy_data_keys"
RETENTION_SWEEP = "retention_sweep"
# The child a closed collaboration hands its deliveries to (`workflows.handover`).
DELIVERY_WORKFLOW = "DeliveryWorkflow"
