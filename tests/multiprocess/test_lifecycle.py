"""Process lifecycles: SIGKILL, fork with writer threads, spawn and forkserver pools,
many threads in many processes, scrapes while writers run, and processes that come and
go by the thousand."""

from __future__ import annotations

import os
from pathlib import Path

from tests.multiprocess.processes import Worker, run_script, samples, vumeter_scrape

JOBS = frozenset({("k", "a")})


def test_sigkill_loses_nothing_recorded(tmp_path: Path) -> None:
    program = [["inc", "a", 1.0]] * 5000 + [["observe", "a", 0.75]] * 300
    worker = Worker("vumeter", program, tmp_path, hold=True)
    worker.wait_done()
    worker.kill()
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_jobs_total", JOBS)] == 5000
    assert got[("mp_latency_seconds_count", JOBS)] == 300
    assert got[("mp_latency_seconds_sum", JOBS)] == 225


def test_sigkill_mid_run_keeps_every_finished_batch(tmp_path: Path) -> None:
    script = """
        import sys, vumeter
        c = vumeter.Counter("mp_batches", "Batches")
        done = 0
        while True:
            for _ in range(1000):
                c.inc()
            done += 1000
            print(done, flush=True)
    """
    import signal
    import subprocess
    import sys
    import textwrap

    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    last = 0
    while last < 50_000:
        line = process.stdout.readline()
        assert line, "the writer stopped early"
        last = int(line)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    total = samples(vumeter_scrape(tmp_path))[("mp_batches_total", frozenset())]
    assert total >= last
    assert total % 1 == 0


def test_fork_while_writer_threads_run(tmp_path: Path) -> None:
    """Children forked while four threads write get cells of their own (from zero: the
    parent's counts are not copied into them) and never deadlock."""
    script = """
        import os, threading, vumeter
        c = vumeter.Counter("mp_forked", "Jobs", ["who"])
        h = vumeter.Histogram("mp_forked_seconds", "Time", buckets=[1.0])
        stop = threading.Event()
        counts = [0] * 4
        def write(i):
            child = c.labels("threads")
            while not stop.is_set():
                child.inc()
                h.observe(0.5)
                counts[i] += 1
        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for _ in range(30):
            pid = os.fork()
            if pid == 0:
                for _ in range(100):
                    c.labels("children").inc()
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert status == 0, status
        stop.set()
        for t in threads:
            t.join()
        print(sum(counts))
    """
    written = int(run_script(script, tmp_path, timeout=120).stdout)
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_forked_total", frozenset({("who", "threads")}))] == written
    assert got[("mp_forked_total", frozenset({("who", "children")}))] == 3000
    assert got[("mp_forked_seconds_count", frozenset())] == written


def test_spawn_and_forkserver_pools(tmp_path: Path) -> None:
    script = """
        import multiprocessing
        from tests.multiprocess.workers import pool_work
        if __name__ == "__main__":
            for method in ("spawn", "forkserver"):
                with multiprocessing.get_context(method).Pool(2) as pool:
                    pids = pool.map(pool_work, [(method, 500)] * 8)
                assert len(set(pids)) >= 1
    """
    run_script(script, tmp_path, timeout=180)
    got = samples(vumeter_scrape(tmp_path))
    for method in ("spawn", "forkserver"):
        assert got[("mp_pool_jobs_total", frozenset({("method", method)}))] == 4000


def test_eight_processes_of_four_threads_count_exactly(tmp_path: Path) -> None:
    script = """
        import threading, vumeter
        c = vumeter.Counter("mp_exact", "Jobs", ["k"])
        h = vumeter.Histogram("mp_exact_seconds", "Time", buckets=[0.5, 1.0])
        def write():
            child, hist = c.labels("a"), h
            for i in range(5000):
                child.inc()
                hist.observe(0.25 if i % 2 else 0.75)
        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    """
    import subprocess
    import sys
    import textwrap

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    processes = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env) for _ in range(8)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_exact_total", frozenset({("k", "a")}))] == 8 * 4 * 5000
    assert got[("mp_exact_seconds_count", frozenset())] == 8 * 4 * 5000
    assert got[("mp_exact_seconds_bucket", frozenset({("le", "0.5")}))] == 8 * 4 * 2500
    assert got[("mp_exact_seconds_sum", frozenset())] == 8 * 4 * 2500 * 1.0


def test_scrapes_while_writers_run_are_consistent(tmp_path: Path) -> None:
    script = """
        import vumeter
        c = vumeter.Counter("mp_jobs", "Jobs done", ["k"])
        h = vumeter.Histogram("mp_latency_seconds", "Latency", ["k"], buckets=[0.5, 1.0, 5.0])
        child, hist = c.labels("a"), h.labels("a")
        for _ in range(20_000):
            for v in (0.25, 0.75, 2.0, 7.0):
                hist.observe(v)
            child.inc()
    """
    import subprocess
    import sys
    import textwrap

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    writers = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env) for _ in range(2)
    ]
    previous = 0.0
    scrapes = 0
    while any(w.poll() is None for w in writers) or scrapes < 3:
        got = samples(vumeter_scrape(tmp_path))
        scrapes += 1
        buckets = [
            got.get(("mp_latency_seconds_bucket", JOBS | {("le", le)}), 0.0)
            for le in ("0.5", "1.0", "5.0", "+Inf")
        ]
        assert buckets == sorted(buckets), "cumulative buckets never decrease"
        assert buckets[-1] == got.get(("mp_latency_seconds_count", JOBS), 0.0)
        total = got.get(("mp_jobs_total", JOBS), 0.0)
        assert total >= previous, "a counter never goes back between scrapes"
        previous = total
        assert scrapes < 10_000
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_jobs_total", JOBS)] == 40_000
    assert got[("mp_latency_seconds_count", JOBS)] == 160_000


def test_a_thousand_short_lived_processes_fold_into_one_aggregate(tmp_path: Path) -> None:
    """Every process that ends is folded into the aggregate at the next scrape, so the
    directory holds the live processes' files and one aggregate, however many came and
    went."""
    script = """
        import os, vumeter
        from prometheus_client import CollectorRegistry
        from vumeter.multiprocess import MultiProcessCollector
        c = vumeter.Counter("mp_short", "Jobs")
        h = vumeter.Histogram("mp_short_seconds", "Time", ["k"], buckets=[1.0])
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        for i in range(1000):
            pid = os.fork()
            if pid == 0:
                c.inc()
                h.labels(str(i % 10)).observe(0.5)
                os._exit(0)
            os.waitpid(pid, 0)
            if i % 100 == 99:
                vumeter.generate_latest(registry)
                files = [f for f in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
                         if f.endswith(".cells")]
                assert len(files) <= 2, files
    """
    run_script(script, tmp_path, timeout=300)
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_short_total", frozenset())] == 1000
    assert got[("mp_short_seconds_count", frozenset({("k", "3")}))] == 100
    cells = [f for f in os.listdir(tmp_path) if f.endswith(".cells")]
    assert cells == [], "every process has ended and been folded"


def test_a_reused_pid_is_not_mistaken_for_a_live_process(tmp_path: Path) -> None:
    """Liveness is the file's lock, not its pid: a dead process's file named with the pid
    of a live process (this one) is still folded, its counts kept."""
    worker = Worker("vumeter", [["inc", "a", 3.0]], tmp_path, hold=False)
    worker.wait_done()
    worker.finish()
    (dead,) = [f for f in os.listdir(tmp_path) if f.endswith(".cells")]
    reused = dead.replace(f"vumeter-{worker.pid}-", f"vumeter-{os.getpid()}-")
    os.rename(tmp_path / dead, tmp_path / reused)
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_jobs_total", JOBS)] == 3
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".cells")]
