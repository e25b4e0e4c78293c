"""Draw a KPI report: the funnel, the time-in-stage distribution, below them the days to PoC and
from the pilot's start to its decision per programme, and at the bottom the days to the first
meeting and the planned steps held, postponed, cancelled and missed, with matplotlib.

PNG and SVG come straight from matplotlib; HTML is a self-contained page around the SVG (no
script, no network), so a sponsor can open it anywhere.
"""

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

from schemas import KpiReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FORMATS = (".png", ".svg", ".html")
LABEL = 30  # characters of a programme's name under its boxes


def _label(name: str) -> str:
    """Return a programme's name as a tick label: shortened, and its `$` drawn as typed (matplotlib
    would read the text between two as a formula)."""
    short = name if len(name) <= LABEL else name[: LABEL - 1] + "…"
    return short.replace("$", r"\$")


def _figure(report: KpiReport):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib import pyplot as plt

    stages = [s.stage.value for s in report.stages]
    fig = plt.figure(figsize=(12, 13), layout="constrained")
    axes = fig.subplot_mosaic([["funnel", "spread"], ["pilots", "pilots"], ["meetings", "steps"]])
    funnel, spread = axes["funnel"], axes["spread"]
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
    _pilot_times(report, axes["pilots"])
    _first_meetings(report, axes["meetings"])
    _steps(report, axes["steps"])
    return fig


def _pilot_times(report: KpiReport, axes: "Axes") -> None:
    """Two boxes per programme: days to PoC, and from the pilot's start to its decision."""
    programmes = report.pilot_times
    nan = [float("nan")]
    to_poc = [p.days_to_poc or nan for p in programmes] or [nan]
    to_decision = [p.days_pilot_to_decision or nan for p in programmes] or [nan]
    first = [3 * n + 1 for n in range(len(to_poc))]
    boxes = []
    for data, offset, colour in ((to_poc, 0, "#3b6ea5"), (to_decision, 1, "#e08a3c")):
        drawn = axes.boxplot(
            data,
            positions=[x + offset for x in first],
            whis=(0, 90),
            widths=0.8,
            patch_artist=True,
            medianprops={"color": "black"},
        )
        for box in drawn["boxes"]:
            box.set_facecolor(colour)
        boxes.append(drawn["boxes"][0])
    names = [_label(p.programme) for p in programmes] or ["(no collaboration)"]
    axes.set_xticks([x + 0.5 for x in first], labels=names)
    axes.legend(boxes, ["entry → pilot start (time to PoC)", "pilot start → decision (decided only)"])
    axes.set_title("Days to PoC and from pilot start to decision, per programme (whiskers: min and p90)")
    axes.set_ylabel("days")


def _first_meetings(report: KpiReport, axes: "Axes") -> None:
    """One box per programme: days from the introduction to the first meeting held."""
    programmes = report.meetings
    days = [m.days_to_first_meeting or [float("nan")] for m in programmes] or [[float("nan")]]
    names = [_label(m.programme) for m in programmes] or ["(no collaboration)"]
    axes.boxplot(days, tick_labels=names, whis=(0, 90), medianprops={"color": "black"})
    axes.set_title("Days from introduction to first meeting (whiskers: min and p90)")
    axes.set_ylabel("days")
    axes.tick_params(axis="x", labelrotation=20)


STEP_BARS = (("held", "#3b6ea5"), ("postponed", "#e08a3c"), ("cancelled", "#9a9a9a"), ("missed", "#c0392b"))


def _steps(report: KpiReport, axes: "Axes") -> None:
    """Four bars per programme: planned steps held, postponed, cancelled and missed."""
    programmes = report.meetings
    width = 0.2
    for n, (what, colour) in enumerate(STEP_BARS):
        counts = [getattr(m, f"steps_{what}") for m in programmes]
        axes.bar([x + (n - 1.5) * width for x in range(len(counts))], counts, width, label=what, color=colour)
    axes.set_xticks(range(len(programmes)), labels=[_label(m.programme) for m in programmes])
    axes.tick_params(axis="x", labelrotation=20)
    axes.legend()
    axes.set_title("Planned steps held, postponed, cancelled and missed")
    axes.set_ylabel("steps")


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
