#!/bin/sh
# One-shot job (temporalio/admin-tools image): create and migrate Temporal's two PostgreSQL
# databases, `temporal` (persistence) and `temporal_visibility`, with temporal-sql-tool.
# Safe to re-run: `create` tolerates an existing database and update-schema only applies what
# is missing. Credentials come from the environment (SQL_PASSWORD is read by the tool).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$SCHEMA_DIR/temporal/versioned" ;;
    *) dir="$SCHEMA_DIR/visibility/versioned" ;;
  esac
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $PORT -u $POSTGRES_USER --db $db"
  $tool create || echo "database $db already exists"
  $tool setup-schema -v 0.0
  $tool update-schema -d "$dir"
done
echo "Temporal schemas are up to date"
