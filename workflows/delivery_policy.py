"""How the workflows call their activities: retries and timeouts, shared by the collaboration
workflow and, for a notification (how long it is tried, how long one attempt may hold it), by the
notify activities (lease, last attempt). The digest takes its retry policies from here but sets
its own timeouts (`workflows/digest.py`).

Each channel's send has an overall deadline well inside the activity's start-to-close timeout,
so an attempt never outlives its timeout mid-send; the lease outlives the timeout, so no other
attempt sends what a timed-out one may still be sending.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

NOTIFY_TIMEOUT = timedelta(seconds=30)  # start-to-close of one attempt
# One channel's whole send (connect, TLS, data, answer): the three channels together stay within
# one attempt's timeout, so even an attempt its worker does not stop ends its sends by then.
CHANNEL_DEADLINE = timedelta(seconds=9)
LEASE = NOTIFY_TIMEOUT + timedelta(seconds=10)  # how long an attempt holds a delivery it sends
DELIVERY_WINDOW = timedelta(days=2)  # from when the activity is first scheduled; its end: `NOTIFY_RETRY`
MAX_RETRY_INTERVAL = timedelta(minutes=10)  # the retry policy's longest wait between attempts

# Recording must never be lost: a database outage is waited out (retries without limit, backing
# off to one minute), and the row insert is idempotent, so a retry never writes twice.
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Start-to-close timeouts are also how long Temporal waits before retrying an activity whose
# worker died (SIGKILL, OOM, lost host): a few inserts take milliseconds, so 10 s is generous.
RECORD_TIMEOUT = timedelta(seconds=10)
# Delivery errors that are permanent (bad address, 4xx) are recorded by the activity and not
# raised; anything raised is transient (timeout, 5xx, refused) and retried with backoff.
# A delivery is tried for `DELIVERY_WINDOW`: the activity's last attempt marks the channels still
# undelivered `failed`. When no attempt could run at all (workers down), the schedule-to-close
# timeout ends the activity with nothing marked: the notification has no `deliveries` row, and
# `passerelle notifications list --failed` lists it as `unattempted` (channel —), as it lists a
# channel left `pending` past the window. `passerelle notifications retry` resends those on their
# channel, and an unattempted notification on every configured channel.
NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=MAX_RETRY_INTERVAL)
