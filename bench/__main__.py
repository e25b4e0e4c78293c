"""`python -m bench {lifecycle,…,imports,all}` (see `QUICK`): run, print, save as JSON.

Every benchmark prints Passerelle's figure, the bare baseline's figure measured in the same run,
and their ratio against its target (`Report.target`). `--quick` shrinks every size for a short run on a busy
machine; `all` runs them one after the other and writes `bench/results/latest.json` and a table.
"""

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from bench import common

QUICK: dict[str, dict[str, Any]] = {
    "lifecycle": {"n": 20, "concurrency": 20, "rounds": 2},
    "scale": {"n": 300},
    "replay": {"n": 100, "unique": 10},
    "milestone": {"n": 300},
    "timeskip": {"repeat": 1},
    "longlife": {"entries": 300, "samples": 20, "held": 50},
    "privacy": {"n": 1000, "repeat": 5},
    "imports": {"n": 2000},
    "cli": {"repeat": 3},
}


def runner(name: str) -> Callable[..., Awaitable[common.Report]]:
    """Return the `run` coroutine function of benchmark `name` (imported only when used)."""
    import importlib

    module = importlib.import_module(f"bench.{name}" if name != "replay" else "bench.replay_bench")
    return module.run  # type: ignore[no-any-return]


def main() -> None:
    """Parse the command line and run the chosen benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", choices=[*QUICK, "all", "table"], help="`table`: markdown of saved results")
    parser.add_argument("--n", type=int, help="size (lifecycles per batch, workflows, histories, rows)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a short run")
    parser.add_argument("--profile", action="store_true", help="profile the run with pyinstrument")
    args = parser.parse_args()
    if args.which == "table":
        saved = [json.loads((common.RESULTS / f"{name}.json").read_text()) for name in QUICK]
        print(markdown([(r["benchmark"], t, r["params"]) for r in saved for t in r["targets"]]))
        return
    common.quiet_logs()
    names = list(QUICK) if args.which == "all" else [args.which]
    reports = []
    for name in names:
        options = dict(QUICK[name]) if args.quick else {}
        if args.n is not None:
            options["n"] = args.n
        reports.append(run_one(name, options, args.profile))
    for report in reports:
        report.show()
    if args.which == "all":
        table(reports)


def run_one(name: str, options: dict[str, Any], profile: bool) -> common.Report:
    """Run one benchmark (optionally under pyinstrument) and save its JSON."""
    coro = runner(name)(**options)
    if profile:
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled") as profiler:
            report = asyncio.run(coro)
        path = common.RESULTS / f"{name}-profile.html"
        profiler.write_html(str(path))
        print(f"profile: {path}")
    else:
        report = asyncio.run(coro)
    print(f"saved {report.save()}")
    return report


def table(reports: list[common.Report]) -> None:
    """Print the summary table of every target and save latest.json."""
    print(markdown([(r.name, t, r.params) for r in reports for t in r.targets]))
    (common.RESULTS / "latest.json").write_text(
        json.dumps([r.as_dict() for r in reports], indent=2, default=str)
    )


def markdown(rows: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> str:
    """Return the targets as a markdown table (benchmark, size, measure, value, target, met)."""
    lines = ["| benchmark | size | measure | value | target | met |", "|---|---|---|---|---|---|"]
    for name, t, params in rows:
        size = ", ".join(f"{k}={v}" for k, v in params.items())
        met = "yes" if t["met"] else "**no**"
        lines.append(f"| {name} | {size} | {t['what']} | {t['value']} | {t['target']} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
