"""vumeter_log_messages_total and configure_logging, as a worker sees them."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from vumeter import CollectorRegistry
from vumeter.logs import (
    FileOptions,
    LogMetricsHandler,
    LokiHandler,
    configure_logging,
)


def count(registry: CollectorRegistry, level: str, logger: str) -> float | None:
    return registry.get_sample_value(
        "vumeter_log_messages_total", {"level": level, "logger": logger}
    )


def test_records_are_counted_by_level_and_logger(
    registry: CollectorRegistry, logger: logging.Logger
) -> None:
    logger.addHandler(LogMetricsHandler(registry))
    logger.info("a")
    logger.info("b")
    logger.error("c")
    logging.getLogger(logger.name + ".child").warning("d")  # propagates to the handler

    assert count(registry, "INFO", logger.name) == 2
    assert count(registry, "ERROR", logger.name) == 1
    assert count(registry, "WARNING", logger.name + ".child") == 1


def test_logger_names_are_capped(registry: CollectorRegistry, logger: logging.Logger) -> None:
    logger.addHandler(LogMetricsHandler(registry, max_loggers=2))
    for index in range(5):
        logging.getLogger(f"{logger.name}.m{index}").error("boom")
    logging.getLogger(f"{logger.name}.m0").error("again")

    assert count(registry, "ERROR", f"{logger.name}.m0") == 2
    assert count(registry, "ERROR", f"{logger.name}.m1") == 1
    assert count(registry, "ERROR", "other") == 3
    series = [
        sample
        for metric in registry.collect()
        if metric.name == "vumeter_log_messages"
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]
    assert len(series) == 3


def test_close_unregisters_and_bad_limits(registry: CollectorRegistry) -> None:
    handler = LogMetricsHandler(registry)
    with pytest.raises(ValueError, match=r"Duplicated timeseries|already"):
        LogMetricsHandler(registry)  # one per registry
    handler.close()
    assert "vumeter_log_messages" not in {m.name for m in registry.collect()}
    LogMetricsHandler(registry).close()  # the name is free again
    with pytest.raises(ValueError, match="max_loggers must be an int >= 1"):
        LogMetricsHandler(registry, max_loggers=0)


def test_configure_logging_json_metric_and_file(
    registry: CollectorRegistry, logger: logging.Logger, tmp_path: Path
) -> None:
    stream = io.StringIO()
    setup = configure_logging(
        format="json",
        level="debug",
        stream=stream,
        worker="w-9",
        registry=registry,
        file=FileOptions(tmp_path / "logs" / "worker.log", max_bytes=10_000),
        logger=logger,
    )
    try:
        logger.debug("to every handler")
        assert json.loads(stream.getvalue())["worker"] == "w-9"
        assert count(registry, "DEBUG", logger.name) == 1
        file_line = (tmp_path / "logs" / "worker.log").read_text().strip()
        assert json.loads(file_line)["message"] == "to every handler"
    finally:
        setup.close()
    assert not set(setup.handlers) & set(logger.handlers)
    assert logger.level == logging.DEBUG  # what the fixture had set
    assert "vumeter_log_messages" not in {m.name for m in registry.collect()}


def test_configure_logging_again_replaces_the_previous_setup(
    registry: CollectorRegistry, logger: logging.Logger
) -> None:
    first_stream, second_stream = io.StringIO(), io.StringIO()
    first = configure_logging(stream=first_stream, registry=registry, logger=logger)
    second = configure_logging(
        format="text", stream=second_stream, registry=registry, logger=logger
    )
    try:
        assert first.closed
        logger.warning("only once")
        assert first_stream.getvalue() == ""
        assert second_stream.getvalue().rstrip().endswith(f"WARNING {logger.name}: only once")
        assert count(registry, "WARNING", logger.name) == 1
    finally:
        second.close()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"format": "xml"}, ValueError, "format must be one of json, text"),
        ({"level": "chatty"}, ValueError, "unknown log level 'chatty'"),
        ({"level": 1.5}, TypeError, "level must be a logging level name or number"),
        ({"loki_url": "loki:3100"}, ValueError, "url must be an http"),
    ],
)
def test_bad_options_change_nothing(
    registry: CollectorRegistry,
    logger: logging.Logger,
    options: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    stream = io.StringIO()
    setup = configure_logging(stream=stream, registry=registry, logger=logger)
    try:
        with pytest.raises(error, match=message):
            configure_logging(registry=registry, logger=logger, **options)  # type: ignore[arg-type]
        assert not setup.closed
        logger.info("still configured")
        assert "still configured" in stream.getvalue()
    finally:
        setup.close()


def test_shipping_handler_is_installed_and_found(
    registry: CollectorRegistry, logger: logging.Logger
) -> None:
    setup = configure_logging(
        stream=io.StringIO(), registry=registry, loki_url="http://127.0.0.1:9", logger=logger
    )
    try:
        loki = setup.handler(LokiHandler)
        assert isinstance(loki, LokiHandler)
        assert loki.url == "http://127.0.0.1:9/loki/api/v1/push"
    finally:
        setup.close()
