"""Draw a KPI report: the funnel and the time-in-stage distribution, with matplotlib.

PNG and SVG come straight from matplotlib; HTML is a self-contained page around the SVG (no
script, no network), so a sponsor can open it anywhere.
"""

import html
import io
from pathlib import Path

from schemas import KpiReport

FORMATS = (".png", ".svg", ".html")


def _figure(report: KpiReport):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib import pyplot as plt

    stages = [s.stage.value for s in report.stages]
    fig, (funnel, spread) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    reached = [s.reached for s in report.stages]
    bars = funnel.barh(stages, reached, color="#3b6ea5")
    funnel.invert_yaxis()  # introduction on top
    first = reached[0] or 1
    funnel.bar_label(bars, labels=[f"{n} ({n / first:.0%})" for n in reached], padding=3)
    funnel.set_title(f"Funnel: collaborations that reached each stage (deployed: {report.deployed})")
    funnel.set_xlabel("collaborations")
    funnel.set_xlim(0, max([*reached, 1]) * 1.25)
    spread.boxplot([s.days or [float("nan")] for s in report.stages], tick_labels=stages, whis=(0, 90))
    spread.set_title("Days in stage (completed stays; whiskers: min and p90)")
    spread.set_ylabel("days")
    spread.tick_params(axis="x", labelrotation=20)
    return fig


def png(report: KpiReport) -> bytes:
    """Return the chart as PNG bytes, to place in a workbook."""
    from matplotlib import pyplot as plt

    fig = _figure(report)
    try:
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=100)
        return out.getvalue()
    finally:
        plt.close(fig)


def draw(report: KpiReport, path: Path) -> Path:
    """Write the chart to `path` (.png, .svg or .html) and return it."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"chart format {suffix or '(none)'} is not one of {', '.join(FORMATS)}")
    from matplotlib import pyplot as plt

    fig = _figure(report)
    try:
        if suffix == ".html":
            svg = io.StringIO()
            fig.savefig(svg, format="svg")
            title = html.escape(f"Passerelle programme KPIs — {report.filters.programme or 'all programmes'}")
            path.write_text(
                f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
                f"<body><h1>{title}</h1>\n{svg.getvalue()}\n</body></html>\n"
            )
        else:
            fig.savefig(path, format=suffix[1:], dpi=120)
    finally:
        plt.close(fig)
    return path
