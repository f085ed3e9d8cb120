"""Local log files rotate by size and by age, keep a bounded number of backups and delete
backups older than the retention period."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from vumeter.logs import JsonFormatter, SizeAndAgeRotatingFileHandler


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def log_lines(handler: logging.Handler, count: int, size: int = 100) -> None:
    for index in range(count):
        record = logging.LogRecord(
            "app", logging.INFO, __file__, 1, "x" * size + str(index), None, None
        )
        handler.handle(record)


def test_rotates_at_the_size_limit_and_keeps_backup_count(tmp_path: Path) -> None:
    path = tmp_path / "worker.log"
    handler = SizeAndAgeRotatingFileHandler(path, max_bytes=1000, backup_count=2, retention=None)
    handler.setFormatter(JsonFormatter())
    try:
        log_lines(handler, 50)
    finally:
        handler.close()
    assert handler.rotated_files() == [tmp_path / "worker.log.1", tmp_path / "worker.log.2"]
    assert not (tmp_path / "worker.log.3").exists()
    for file in (path, *handler.rotated_files()):
        assert file.stat().st_size <= 1000


def test_rotates_by_age_even_when_small(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "worker.log"
    handler = SizeAndAgeRotatingFileHandler(
        path, max_bytes=10**9, max_age=3600, backup_count=3, retention=None, clock=clock
    )
    try:
        log_lines(handler, 1)
        clock.now += 3599
        log_lines(handler, 1)
        assert handler.rotated_files() == []
        clock.now += 2
        log_lines(handler, 1)
        assert handler.rotated_files() == [tmp_path / "worker.log.1"]
        assert len((tmp_path / "worker.log.1").read_text().splitlines()) == 2
        assert len(path.read_text().splitlines()) == 1
        # An idle hour with an empty file: nothing worth a backup.
        handler.doRollover()
        clock.now += 7200
        log_lines(handler, 1)
        assert len(handler.rotated_files()) == 2
    finally:
        handler.close()


def test_retention_deletes_old_backups(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "worker.log"
    handler = SizeAndAgeRotatingFileHandler(
        path, max_bytes=500, max_age=10**6, backup_count=50, retention=86400, clock=clock
    )
    handler.setFormatter(JsonFormatter())
    try:
        log_lines(handler, 12)
        backups = handler.rotated_files()
        assert len(backups) >= 2
        expired = backups[-1].read_text()
        os.utime(backups[-1], (clock.now - 2 * 86400, clock.now - 2 * 86400))
        log_lines(handler, 3)  # the next rotation prunes
    finally:
        handler.close()
    remaining = handler.rotated_files()
    assert len(remaining) >= len(backups)  # newer backups stay (the count allows 50)
    assert all(file.read_text() != expired for file in remaining)
    assert all(clock.now - file.stat().st_mtime < 86400 for file in remaining)


def test_stale_file_from_an_earlier_run_is_rotated_at_start(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "worker.log"
    path.write_text('{"message": "from yesterday"}\n')
    os.utime(path, (clock.now - 2 * 3600, clock.now - 2 * 3600))
    handler = SizeAndAgeRotatingFileHandler(path, max_age=3600, retention=None, clock=clock)
    handler.close()
    assert (tmp_path / "worker.log.1").read_text() == '{"message": "from yesterday"}\n'
    assert path.read_text() == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_bytes": 0}, "max_bytes must be an int >= 1"),
        ({"max_age": 0}, "max_age must be > 0 seconds"),
        ({"backup_count": 0}, "backup_count must be an int >= 1"),
        ({"retention": -1}, "retention must be > 0 seconds or None"),
    ],
)
def test_bad_limits(tmp_path: Path, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SizeAndAgeRotatingFileHandler(tmp_path / "x.log", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "x.log").exists()
