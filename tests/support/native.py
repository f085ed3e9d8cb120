"""Proving a render native: while :func:`natively_rendered` is active, every vumeter
family's ``collect()`` raises, so a render that goes through prometheus_client's encoder
(which calls it) fails, and a native one does not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import vumeter


@contextmanager
def natively_rendered() -> Iterator[None]:
    def refuse(self: object) -> None:
        raise AssertionError("rendered through collect()")

    with pytest.MonkeyPatch.context() as patch:
        for cls in (vumeter.Counter, vumeter.Gauge, vumeter.Histogram):
            patch.setattr(cls, "collect", refuse)
        yield
