"""The SDK runtime of a worker: Temporal's own Prometheus metrics on `PASSERELLE_METRICS_PORT`.

The SDK's core serves the metrics itself (task slots, poll and schedule-to-start latencies,
workflow and activity outcomes, sticky cache), so a scraper needs no extra library or exporter.
One runtime per process: the endpoint is bound when the runtime is built.
"""

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from passerelle.platform.settings import Settings


def build_runtime(settings: Settings) -> Runtime | None:
    """Return a runtime exporting Prometheus metrics, or None when no metrics port is set."""
    if settings.metrics_address is None:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_address)))


def metrics_url(settings: Settings) -> str | None:
    """Return the URL a process on the same host scrapes, or None when metrics are off."""
    if settings.metrics_address is None:
        return None
    port = settings.metrics_address.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}/metrics"
