"""Local log files with a size limit, an age limit and retention.

:class:`SizeAndAgeRotatingFileHandler` rotates ``worker.log`` to ``worker.log.1`` (shifting
older files up, as ``logging.handlers.RotatingFileHandler`` does) when the next record would
make it larger than ``max_bytes``, or when the file has been written to for longer than
``max_age`` seconds, whichever comes first. It keeps at most ``backup_count`` rotated files
and, with ``retention``, deletes rotated files last modified more than ``retention`` seconds
ago, so neither a busy nor a quiet worker fills the disk or keeps logs longer than policy
allows.

The age of the current file counts from when this handler opened it. A file left by an
earlier run is rotated at start-up when it was last written more than ``max_age`` ago, so a
restart does not extend a file's life beyond the limit.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = ["SizeAndAgeRotatingFileHandler"]


class SizeAndAgeRotatingFileHandler(RotatingFileHandler):
    """A ``RotatingFileHandler`` that also rotates by age and prunes old backups.

    ``max_bytes`` and ``max_age`` must be positive; ``backup_count`` at least 1 (without
    backups rotation would only truncate); ``retention``: ``None`` keeps backups by count
    only. ``clock`` (``time.time``) is replaceable for tests.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        *,
        max_bytes: int = 100 * 1024 * 1024,
        max_age: float = 24 * 3600.0,
        backup_count: int = 7,
        retention: float | None = 7 * 24 * 3600.0,
        encoding: str = "utf-8",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if type(max_bytes) is not int or max_bytes < 1:
            raise ValueError(f"max_bytes must be an int >= 1, got {max_bytes!r}")
        if not max_age > 0:
            raise ValueError(f"max_age must be > 0 seconds, got {max_age!r}")
        if type(backup_count) is not int or backup_count < 1:
            raise ValueError(f"backup_count must be an int >= 1, got {backup_count!r}")
        if retention is not None and not retention > 0:
            raise ValueError(f"retention must be > 0 seconds or None, got {retention!r}")
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            filename, maxBytes=max_bytes, backupCount=backup_count, encoding=encoding, delay=False
        )
        self.max_age = float(max_age)
        self.retention = None if retention is None else float(retention)
        self._clock = clock
        self._opened_at = clock()
        self._rotate_stale_file()

    def _rotate_stale_file(self) -> None:
        try:
            stat = os.stat(self.baseFilename)
        except OSError:
            return
        if stat.st_size and self._clock() - stat.st_mtime >= self.max_age:
            self.doRollover()
        else:
            self._prune()

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self._clock() - self._opened_at >= self.max_age:
            # An empty file is not worth a backup: just restart its clock.
            if self.stream is not None and self.stream.tell() == 0:
                self._opened_at = self._clock()
                return False
            return True
        return super().shouldRollover(record)

    def doRollover(self) -> None:
        super().doRollover()
        self._opened_at = self._clock()
        self._prune()

    def rotated_files(self) -> list[Path]:
        """The rotated files that exist, newest first."""
        base = Path(self.baseFilename)
        files = (base.with_name(f"{base.name}.{index}") for index in range(1, self.backupCount + 1))
        return [path for path in files if path.exists()]

    def _prune(self) -> None:
        if self.retention is None:
            return
        cutoff = self._clock() - self.retention
        for path in self.rotated_files():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:  # removed meanwhile by another process or by hand
                continue
