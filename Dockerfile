# The Passerelle image: `passerelle worker` by default; `migrate`, `setup` and the operator
# commands run from the same image. Slim Python, pinned dependencies, non-root user.
# Build: docker build -t passerelle .   (docker-compose.yml builds it for you)
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, pinned and hashed by requirements.lock, so code changes reuse this layer and
# a file that changed on the index fails the build.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md worker.py ./
COPY passerelle ./passerelle
COPY schemas ./schemas
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
RUN pip install --no-deps . && rm -rf /app/build

# No root at run time; no home-directory writes needed (state lives in Temporal and PostgreSQL).
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin passerelle
USER passerelle

# Prometheus metrics of the Temporal SDK (set PASSERELLE_METRICS_PORT to turn them on).
EXPOSE 9464

HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["passerelle", "worker", "--healthcheck"]

ENTRYPOINT ["passerelle"]
CMD ["worker"]
