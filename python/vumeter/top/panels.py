"""Drawing a :class:`~vumeter.top.view.View` with rich: a header, the panels, a key line.

The same renderable serves the live screen and the plain-text snapshot (a console without
colour); panels whose metrics are missing are left out, and the rest are laid out two
side by side on a wide terminal, one under the other on a narrow one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vumeter.top import thresholds
from vumeter.top.endpoint import EndpointState
from vumeter.top.view import ErrorsPanel, GaugeRow, GPUPanel, LatencyRow, QualityRow, View

__all__ = ["NO_DATA", "format_bytes", "format_rate", "format_seconds", "render_view"]

#: Shown wherever a number cannot be computed yet (one reading, no observation).
NO_DATA = "no data"
_BLOCKS = " ▁▂▃▄▅▆▇█"
_WIDE = 110  # columns from which panels go side by side
_GPU_BAR = 20


def format_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0/s"
    if value < 0.1:
        return f"{value * 60:.2g}/min"
    return f"{value:.3g}/s" if value < 1000 else f"{value:,.0f}/s"


def format_seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return NO_DATA
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def format_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _label(value: str) -> str:
    return value or "-"


T = TypeVar("T")


def _cut(items: Sequence[T], limit: int | None) -> tuple[Sequence[T], int]:
    """The rows to draw when at most ``limit`` fit (one of them says how many are left
    out), and how many are left out."""
    if limit is None or len(items) <= limit:
        return items, 0
    shown = max(1, limit - 1)
    return items[:shown], len(items) - shown


def _more(table: _Columns, hidden: int) -> None:
    if hidden:
        table.add_row(Text(f"… {hidden} more (a taller terminal shows them)", style="dim"))


class _Columns:
    """A table drawn as plain styled lines: columns as wide as their widest cell, two
    blanks apart. rich's Table measures every cell several times; for a screen redrawn
    every second that was most of the view's CPU time (6 ms for ten rows of five)."""

    def __init__(self, *headings: str, right_from: int = 1, left: tuple[int, ...] = ()) -> None:
        self._headings = headings
        self._right = [i >= right_from and i not in left for i in range(len(headings))]
        self._rows: list[list[Text]] = []

    def add_row(self, *cells: str | Text) -> None:
        self._rows.append([cell if isinstance(cell, Text) else Text(cell) for cell in cells])

    def __rich__(self) -> Text:
        widths = [cell_len(heading) for heading in self._headings]
        for row in self._rows:
            if len(row) == len(widths):
                widths = [max(w, cell.cell_len) for w, cell in zip(widths, row, strict=True)]
        heading = Text("  ").join(
            self._pad(Text(h), w, r) for h, w, r in self._cells(self._headings, widths)
        )
        heading.stylize("bold")
        lines = [heading]
        for row in self._rows:
            if len(row) != len(widths):  # a note across the columns
                lines.append(Text.assemble(*row))
                continue
            line = Text()
            for index, (cell, width, right) in enumerate(self._cells(row, widths)):
                if index:
                    line.append("  ")
                line.append_text(self._pad(cell, width, right))
            lines.append(line)
        text = Text("\n").join(lines)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    def _cells(self, cells: Sequence[T], widths: list[int]) -> Iterable[tuple[T, int, bool]]:
        return zip(cells, widths, self._right, strict=True)

    @staticmethod
    def _pad(cell: Text | str, width: int, right: bool) -> Text:
        text = cell if isinstance(cell, Text) else Text(cell)
        gap = " " * (width - text.cell_len)
        return Text.assemble(gap, text) if right else Text.assemble(text, gap)


def _table(*columns: str, right_from: int = 1, left: tuple[int, ...] = ()) -> _Columns:
    return _Columns(*columns, right_from=right_from, left=left)


def _header(view: View, paused: bool, interval: float) -> RenderableType:
    title = Text("vumeter top", style="bold")
    title.append(f"  every {interval:g} s", style="dim")
    if view.distributions == "since_start":
        title.append("  rates over the last interval; distributions since each worker started")
    elif view.window_seconds is not None:
        title.append(f"  window {view.window_seconds:.0f} s", style="dim")
    if paused:
        title.append("  PAUSED", style="bold reverse yellow")
    lines = [title, *(_endpoint_line(state) for state in view.endpoints)]
    return Group(*lines)


def _endpoint_line(state: EndpointState) -> Text:
    line = Text()
    if state.up is None:
        line.append("… ", style="yellow")
        line.append(state.url)
        line.append("  connecting", style="yellow")
        return line
    if not state.up:
        line.append("✖ ", style="bold red")
        line.append(state.url)
        line.append("  unreachable, retrying: ", style="bold red")
        line.append(state.error or "")
        return line
    line.append("● ", style="green")
    line.append(state.url)
    line.append("  up", style="green")
    if state.scrape_seconds is not None:
        line.append(f"  scrape {format_seconds(state.scrape_seconds)}", style="dim")
    if state.readiness is not None:
        ready = state.readiness
        line.append("  readyz: ")
        line.append("ready" if ready.ok else "NOT READY", style="green" if ready.ok else "bold red")
        if ready.message:
            line.append(f" ({ready.message})", style="dim")
    return line


def _throughput(view: View, limit: int | None) -> Panel | None:
    if view.throughput is None:
        return None
    statuses = sorted(
        {status for row in view.throughput for status in row.by_status},
        key=lambda s: (s != "success", s),
    )
    table = _table("dataset", "processor", *statuses, "total", right_from=2)
    rows, hidden = _cut(view.throughput, limit)
    for row in rows:
        cells = []
        for status in statuses:
            rates = row.by_status.get(status)
            text = Text(format_rate(rates.now if rates else None))
            if status == "error" and rates and rates.now:
                text.stylize("red")
            cells.append(text)
        total = sum(rates.total for rates in row.by_status.values())
        table.add_row(_label(row.dataset), _label(row.processor), *cells, _count(total))
    _more(table, hidden)
    return Panel(table, title="throughput (samples/s, last interval)", title_align="left")


def _latency(all_rows: list[LatencyRow] | None, limit: int | None) -> Panel | None:
    if all_rows is None:
        return None
    table = _table("operation", "rate", "p50", "p95", "p99")
    rows, hidden = _cut(all_rows, limit)
    for row in rows:
        table.add_row(
            _label(row.operation),
            format_rate(row.per_second),
            *(format_seconds(value) for value in row.quantiles),
        )
    _more(table, hidden)
    return Panel(table, title="latency", title_align="left")


def _sparkline(counts: Sequence[tuple[float, float]]) -> Text:
    finite = [(bound, count) for bound, count in counts if not math.isinf(bound)]
    overflow = sum(count for bound, count in counts if math.isinf(bound))
    if overflow:
        finite.append((math.inf, overflow))
    peak = max((count for _, count in finite), default=0.0)
    line = Text()
    for bound, count in finite:
        level = 0 if peak <= 0 else math.ceil(count / peak * (len(_BLOCKS) - 1))
        style = "red" if bound <= thresholds.LOW_QUALITY_MEDIAN else "green"
        line.append(_BLOCKS[level] * 2, style=style)
    return line


def _quality(all_rows: list[QualityRow] | None, limit: int | None) -> Panel | None:
    if all_rows is None:
        return None
    table = _table(
        "dataset", "distribution", "n", "median", f"< {thresholds.LOW_QUALITY_MEDIAN:g}", left=(1,)
    )
    rows, hidden = _cut(all_rows, limit)
    for row in rows:
        median = Text(NO_DATA if row.median is None else f"{row.median:.2f}")
        if row.alerting:
            median.stylize("bold red")
        table.add_row(
            _label(row.dataset),
            _sparkline(row.counts),
            _count(row.observations),
            median,
            _percent(row.share_below_threshold),
        )
    _more(table, hidden)
    title = f"quality score (TOPSIS; alert: median < {thresholds.LOW_QUALITY_MEDIAN:g})"
    return Panel(table, title=title, title_align="left")


def _errors(panel: ErrorsPanel | None, limit: int | None) -> Panel | None:
    if panel is None:
        return None
    parts: list[RenderableType] = []
    ratios = _table("dataset", "error ratio", "attempts")
    half = None if limit is None else max(2, limit // 2)
    shown_ratios, hidden_ratios = _cut(panel.ratios, half)
    for ratio in shown_ratios:
        text = Text(_percent(ratio.ratio))
        if ratio.alerting:
            text.stylize("bold red")
            text.append(" ALERT")
        ratios.add_row(_label(ratio.dataset), text, format_rate(ratio.attempts_per_second))
    _more(ratios, hidden_ratios)
    parts.append(ratios)
    if panel.by_type:
        types = _table("error type", "severity", "rate", "total", right_from=2)
        shown_types, hidden_types = _cut(list(panel.by_type.items()), half)
        for (error_type, severity), rates in shown_types:
            style = "bold red" if severity == "critical" else ""
            types.add_row(
                _label(error_type),
                Text(_label(severity), style=style),
                format_rate(rates.average),
                _count(rates.total),
            )
        _more(types, hidden_types)
        parts.append(types)
    elif panel.by_type is not None:
        parts.append(Text("no errors recorded", style="green"))
    title = f"errors (alert: ratio > {thresholds.ERROR_RATIO:.0%})"
    return Panel(Group(*parts), title=title, title_align="left")


def _bar(share: float, width: int) -> Text:
    filled = round(max(0.0, min(1.0, share)) * width)
    style = "red" if share > thresholds.GPU_MEMORY_RATIO else "cyan"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    return bar


def _gpu(panel: GPUPanel | None, several: bool, limit: int | None) -> Panel | None:
    if panel is None:
        return None
    parts: list[RenderableType] = []
    for url in panel.monitoring_down:
        where = f" on {url}" if several else ""
        parts.append(Text(f"GPU monitoring down{where}", style="bold red"))
    if panel.rows:
        table = _table("gpu", "memory", "used / total", "util", "temp", left=(1,))
        rows, hidden = _cut(panel.rows, limit)
        for row in rows:
            share = row.used_share
            name = f"{row.endpoint} {row.gpu_id}" if several else row.gpu_id
            table.add_row(
                name,
                Text("-") if share is None else _bar(share, _GPU_BAR),
                f"{format_bytes(row.used_bytes)} / {format_bytes(row.total_bytes)}",
                _percent(row.utilization),
                "-" if row.temperature is None else f"{row.temperature:.0f} °C",
            )
        _more(table, hidden)
        parts.append(table)
    elif not panel.monitoring_down:
        parts.append(Text("no GPU reported", style="dim"))
    return Panel(Group(*parts), title="GPU", title_align="left")


def _gauges(
    queues: list[GaugeRow] | None,
    workers: list[GaugeRow] | None,
    several: bool,
    limit: int | None,
) -> Panel | None:
    if queues is None and workers is None:
        return None
    table = _table("kind", "name", "value", right_from=2)
    every = [("queue", row) for row in queues or []] + [("workers", row) for row in workers or []]
    rows, hidden = _cut(every, limit)
    for kind, row in rows:
        name = f"{row.endpoint} {_label(row.name)}" if several else _label(row.name)
        table.add_row(kind, name, _count(row.value))
    _more(table, hidden)
    return Panel(table, title="queues and workers", title_align="left")


def _layout(panels: Iterable[Panel | None], width: int) -> RenderableType:
    present = [panel for panel in panels if panel is not None]
    if not present:
        return Text(
            "none of the metrics vumeter top shows are on these endpoints (yet)", style="dim"
        )
    if width < _WIDE:
        return Group(*present)
    rows: list[RenderableType] = []
    for index in range(0, len(present), 2):
        pair = present[index : index + 2]
        if len(pair) == 1:
            rows.append(pair[0])  # an odd panel out takes the whole width
            continue
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(*pair)
        rows.append(grid)
    return Group(*rows)


def _rows_that_fit(height: int | None, view: View, wide: bool) -> int | None:
    """Table rows per panel that fit ``height`` lines: the header, the key line, and per
    panel its frame and column headings (about five lines) come off first."""
    if height is None:
        return None
    panels = 6 if wide else 6 * 2  # a narrow screen stacks them all (some are short)
    stacked = (panels + 1) // 2
    free = height - (2 + len(view.endpoints)) - 5 * stacked
    return max(2, free // stacked)


def render_view(
    view: View,
    *,
    width: int,
    interval: float,
    height: int | None = None,
    paused: bool = False,
    keys: bool = True,
) -> RenderableType:
    """The whole screen for ``view`` at ``width`` columns; with ``height``, long tables are
    cut to what fits (rows nobody can see cost time to draw). ``keys`` adds the key line."""
    several = len(view.endpoints) > 1
    limit = _rows_that_fit(height, view, width >= _WIDE)
    body = _layout(
        (
            _throughput(view, limit),
            _errors(view.errors, limit),
            _latency(view.latency, limit),
            _quality(view.quality, limit),
            _gpu(view.gpu, several, limit),
            _gauges(view.queues, view.workers, several, limit),
        ),
        width,
    )
    parts: list[RenderableType] = [_header(view, paused, interval), body]
    if keys:
        parts.append(Text("q quit   p pause/resume   Ctrl-C quit", style="dim"))
    return Group(*parts)
