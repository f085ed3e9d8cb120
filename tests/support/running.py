"""Running a real binary for the length of a test block: its output in a log file under
the test's temporary directory (shown in failure messages), SIGTERM when the block ends,
SIGKILL if it has not exited a few seconds later."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunningProcess:
    name: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def exit_status(self) -> int | None:
        """The exit status if the process has ended, else None."""
        return self.process.poll()


@contextlib.contextmanager
def running(name: str, command: Sequence[str], log_dir: Path) -> Iterator[RunningProcess]:
    """Run `command` for the duration of the block, its output going to `<log_dir>/<name>.log`."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            yield RunningProcess(name, log_path, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_TIMEOUT_S)


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for failure messages."""
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(text[-lines:])
