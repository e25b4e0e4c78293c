#!/bin/sh
# Database roles of the docker-compose topology, run by the PostgreSQL image when it first
# initialises its data directory (docker-entrypoint-initdb.d), as the cluster superuser:
#   - TEMPORAL_DB_USER (temporal): may create databases; temporal-sql-tool creates and owns
#     `temporal` and `temporal_visibility`;
#   - PASSERELLE_DB_OWNER (passerelle): owns Passerelle's database and schema; `passerelle migrate`;
#   - PASSERELLE_DB_WORKER (passerelle_worker): the workers; reads and writes rows (granted by
#     the migrate job), cannot create, alter, drop or delete anything.
# Idempotent: it can also be run by hand against an existing server (libpq PG* variables).
set -eu
: "${TEMPORAL_DB_PASSWORD:?}" "${PASSERELLE_DB_OWNER_PASSWORD:?}" "${PASSERELLE_DB_WORKER_PASSWORD:?}"

run_psql() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
    -v temporal="${TEMPORAL_DB_USER:-temporal}" -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v db="${PASSERELLE_DB_NAME:-passerelle}" \
    -v owner="${PASSERELLE_DB_OWNER:-passerelle}" -v owner_password="$PASSERELLE_DB_OWNER_PASSWORD" \
    -v worker="${PASSERELLE_DB_WORKER:-passerelle_worker}" \
    -v worker_password="$PASSERELLE_DB_WORKER_PASSWORD" "$@"
}

run_psql --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'temporal', :'temporal_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'temporal') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'owner', :'owner_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'worker', :'worker_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'worker') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'worker') \gexec
SQL

# In Passerelle's database: nobody but the owner creates anything in its schema. The worker
# role's rights on the tables are granted by the `migrate` job, after each migration, as the
# owner (`passerelle migrate --grant-worker`, WORKER_GRANTS in passerelle/platform/db.py): rows only,
# milestones and notifications append-only.
run_psql --dbname "${PASSERELLE_DB_NAME:-passerelle}" <<'SQL'
SELECT format('REVOKE CREATE ON SCHEMA public FROM PUBLIC') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'worker') \gexec
SQL
echo "roles ready: ${TEMPORAL_DB_USER:-temporal}, ${PASSERELLE_DB_OWNER:-passerelle}, ${PASSERELLE_DB_WORKER:-passerelle_worker}"
