#!/bin/sh
# One-shot job (temporalio/admin-tools image): create Passerelle's shared namespace once the server
# is healthy. Idempotent: an existing namespace is left as it is. TEMPORAL_ADDRESS is the server's
# internal frontend (compose), since the public one refuses a caller without a token; each
# programme's own namespace is registered by `passerelle programme add`.
set -eu
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"
: "${TEMPORAL_ADDRESS:?}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not become healthy"
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE already exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention "$RETENTION"
  echo "namespace $NAMESPACE created (retention $RETENTION)"
fi
