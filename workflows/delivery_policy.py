"""How long a notification is tried, and how long one attempt may hold it: shared by the
workflow (activity timeouts) and the notify activities (lease, last attempt).

Each channel's send has an overall deadline well inside the activity's start-to-close timeout,
so an attempt never outlives its timeout mid-send; the lease outlives the timeout, so no other
attempt sends what a timed-out one may still be sending.
"""

from datetime import timedelta

NOTIFY_TIMEOUT = timedelta(seconds=30)  # start-to-close of one attempt
# One channel's whole send (connect, TLS, data, answer): the three channels together stay within
# one attempt's timeout, so even an attempt its worker does not stop ends its sends by then.
CHANNEL_DEADLINE = timedelta(seconds=9)
LEASE = NOTIFY_TIMEOUT + timedelta(seconds=10)  # how long an attempt holds a delivery it sends
DELIVERY_WINDOW = timedelta(days=2)  # from the first attempt; then the delivery is `failed`
MAX_RETRY_INTERVAL = timedelta(minutes=10)  # the retry policy's longest wait between attempts
