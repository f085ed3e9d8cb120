"""The same operations in several processes give the same aggregated scrape through
vumeter's MultiProcessCollector as through prometheus_client's multiprocess mode: every
gauge mode, label sets, counters and histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.multiprocess.processes import client_scrape, parsed, run_programs, vumeter_scrape
from tests.multiprocess.workers import GAUGE_MODES

# Values whose sums are exact in binary, so that the order of additions cannot matter.
AMOUNTS = st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0])
OBSERVATIONS = st.sampled_from([0.25, 0.75, 1.0, 2.0, 7.0])
KEYS = st.sampled_from(["a", "b", "c"])
VALUES = st.sampled_from([-3.0, -0.5, 0.0, 1.5, 4.0, 9.0])

OPERATION = st.one_of(
    st.tuples(st.just("inc"), KEYS, AMOUNTS),
    st.tuples(st.just("observe"), KEYS, OBSERVATIONS),
    st.tuples(st.just("set"), st.sampled_from(GAUGE_MODES), KEYS, VALUES),
    st.tuples(
        st.just("gauge_inc"),
        st.sampled_from([m for m in GAUGE_MODES if "mostrecent" not in m]),
        KEYS,
        AMOUNTS,
    ),
    st.tuples(st.just("plain"), AMOUNTS),
)
# tmp_path_factory gives each example a directory of its own.
FIXTURES = [HealthCheck.function_scoped_fixture]
PROGRAMS = st.lists(st.lists(OPERATION.map(list), max_size=12), min_size=1, max_size=3)


def _compare(programs: list[list[Any]], root: Path, hold: bool) -> bytes:
    """Runs ``programs`` with each library and compares the scrapes; returns vumeter's."""
    runs = {}
    texts = {}
    for library in ("vumeter", "prometheus_client"):
        directory = root / library
        directory.mkdir()
        workers = run_programs(library, programs, directory, hold=hold)
        pids = {str(w.pid): str(i) for i, w in enumerate(workers)}
        scrape = vumeter_scrape if library == "vumeter" else client_scrape
        texts[library] = scrape(directory)
        runs[library] = parsed(texts[library], pids)
        for worker in workers:
            if hold:
                worker.finish()
    assert runs["vumeter"] == runs["prometheus_client"]
    return texts["vumeter"]


@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES)
@given(programs=PROGRAMS)
def test_dead_processes_merge_as_prometheus_client_merges_them(
    programs: list[list[Any]], tmp_path_factory: Any
) -> None:
    """Processes that have exited: prometheus_client keeps the files of its live* gauges
    until mark_process_dead, vumeter sees that the processes are gone, so both are
    compared after mark_process_dead."""
    from prometheus_client import multiprocess as client_multiprocess

    from vumeter import multiprocess

    root = tmp_path_factory.mktemp("dead")
    runs = {}
    for library in ("vumeter", "prometheus_client"):
        directory = root / library
        directory.mkdir()
        workers = run_programs(library, programs, directory)
        pids = {str(w.pid): str(i) for i, w in enumerate(workers)}
        for worker in workers:
            mark = multiprocess if library == "vumeter" else client_multiprocess
            mark.mark_process_dead(worker.pid, str(directory))
        scrape = vumeter_scrape if library == "vumeter" else client_scrape
        runs[library] = parsed(scrape(directory), pids)
    assert runs["vumeter"] == runs["prometheus_client"]


@settings(max_examples=8, deadline=None, suppress_health_check=FIXTURES)
@given(programs=PROGRAMS)
def test_live_processes_merge_as_prometheus_client_merges_them(
    programs: list[list[Any]], tmp_path_factory: Any
) -> None:
    _compare(programs, tmp_path_factory.mktemp("live"), hold=True)


def test_every_family_and_mode_appears(tmp_path: Path) -> None:
    """A fixed program touching every family, so that a merge dropping one kind cannot
    pass by the luck of the draw."""
    program: list[Any] = [["inc", "a", 2.0], ["observe", "a", 0.75], ["plain", 1.0]]
    program += [["set", mode, "a", 4.0] for mode in GAUGE_MODES]
    text = _compare([program, program], tmp_path, hold=True).decode()
    for mode in GAUGE_MODES:
        assert f"mp_gauge_{mode}" in text
