"""Generate the committed Grafana dashboards (dashboards/*.json) from their Python definitions.

    python dashboards/generate.py          # rewrite the JSON files
    python dashboards/generate.py --check  # exit 1 if any committed file is stale

The definitions live next to this script (overview_dashboard.py, performance_dashboard.py,
quality_dashboard.py); grafana_builders.py renders them. The JSON is committed so Grafana can
provision it without running Python; tests/ops/test_dashboards.py runs --check so a definition
change without regenerated JSON fails the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import overview_dashboard
import performance_dashboard
import quality_dashboard
from grafana_builders import Dashboard, render_dashboard

DASHBOARDS_DIR = Path(__file__).resolve().parent

# Output file name -> definition. The file names are what Grafana provisioning loads.
DEFINITIONS: dict[str, Callable[[], Dashboard]] = {
    "vumeter-overview.json": overview_dashboard.dashboard,
    "vumeter-performance.json": performance_dashboard.dashboard,
    "vumeter-quality.json": quality_dashboard.dashboard,
}


def render_all() -> dict[str, str]:
    """File name -> JSON text for every dashboard, formatted exactly as committed."""
    return {
        name: json.dumps(render_dashboard(define()), indent=2, ensure_ascii=False) + "\n"
        for name, define in DEFINITIONS.items()
    }


def stale_files(output_dir: Path, rendered: dict[str, str]) -> list[str]:
    """Names of the files in `output_dir` that are missing or differ from `rendered`."""
    stale = []
    for name, text in rendered.items():
        path = output_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if a committed JSON file differs from its definition",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DASHBOARDS_DIR,
        help="where the JSON files are (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    rendered = render_all()
    stale = stale_files(args.output_dir, rendered)
    if args.check:
        if stale:
            print(
                f"stale dashboards in {args.output_dir}: {', '.join(stale)}; "
                "run `python dashboards/generate.py` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{len(rendered)} dashboards up to date")
        return 0
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.output_dir / name).write_text(rendered[name], encoding="utf-8")
        print(f"wrote {args.output_dir / name}")
    if not stale:
        print(f"{len(rendered)} dashboards already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
