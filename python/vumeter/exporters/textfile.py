"""``write_to_textfile``: the node exporter's textfile collector format, atomically."""

from __future__ import annotations

import os
import threading

from prometheus_client.registry import Collector

from vumeter.exposition import ALLOWUTF8, generate_latest


def write_to_textfile(
    path: str, registry: Collector, escaping: str = ALLOWUTF8, tmpdir: str | None = None
) -> None:
    """Writes the registry's text exposition to ``path`` (which should end in ``.prom``)
    through a temporary file renamed over it, in ``tmpdir`` when given (it must be on the
    same filesystem), as prometheus_client's ``write_to_textfile`` does."""
    suffix = f"{os.getpid()}.{threading.current_thread().ident}"
    if tmpdir is not None:
        tmppath = f"{os.path.join(tmpdir, os.path.basename(path))}.{suffix}"
    else:
        tmppath = f"{path}.{suffix}"
    try:
        with open(tmppath, "wb") as f:
            f.write(generate_latest(registry, escaping))
        # rename(2) is atomic; Windows refuses it over an existing file, replace() does not.
        if os.name == "nt":
            os.replace(tmppath, path)
        else:
            os.rename(tmppath, path)
    except Exception:
        if os.path.exists(tmppath):
            os.remove(tmppath)
        raise
