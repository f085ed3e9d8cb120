"""What a type checker sees of vumeter in user code (``mypy --strict``): ``labels()``
returns each family's child type, so a typo on a child is an error, and the decorators
keep the decorated function's type."""

from __future__ import annotations

from pathlib import Path

from mypy import api

USER_CODE = """
import asyncio
import vumeter

c = vumeter.Counter("c", "C", ["k"])
g = vumeter.Gauge("g", "G", ["k"])
h = vumeter.Histogram("h", "H", ["k"])
reveal_type(c.labels("x"))
reveal_type(g.labels(k="x"))
reveal_type(h.labels("x"))
c.labels("x").inc(2)
h.labels("x").observe(0.5)
g.labels("x").set_to_current_time()
c.labels("x").oops()

@h.labels("x").time()
def handler(path: str, *, verbose: bool = False) -> int:
    return len(path)

@c.count_exceptions(KeyError)
async def fetch(key: str) -> bytes:
    return key.encode()

reveal_type(handler)
reveal_type(fetch)
handler(3)
with g.track_inprogress():
    pass
"""


def test_mypy_strict_sees_child_types_and_decorated_signatures(tmp_path: Path) -> None:
    source = tmp_path / "user_code.py"
    source.write_text(USER_CODE)
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)]
    )
    lines = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(str(source))]
    assert lines == [
        'note: Revealed type is "vumeter.counter.CounterChild"',
        'note: Revealed type is "vumeter.gauge.GaugeChild"',
        'note: Revealed type is "vumeter.histogram.HistogramChild"',
        'error: "CounterChild" has no attribute "oops"  [attr-defined]',
        'note: Revealed type is "def (path: str, *, verbose: bool =) -> int"',
        'note: Revealed type is "def (key: str) -> typing.Coroutine[Any, Any, bytes]"',
        'error: Argument 1 to "handler" has incompatible type "int"; expected "str"  [arg-type]',
    ], out + err
    assert status == 1
