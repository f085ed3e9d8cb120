"""DemoConfig validation for the settings the command line does not expose, and profiles."""

from __future__ import annotations

import pytest

from vumeter import logs
from vumeter.demo.config import LOG_FORMATS, DemoConfig, profile_for


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"exclusion_threshold": 1.2}, "exclusion_threshold must be a finite number from 0 to 1"),
        ({"batch_max_wait": 0.0}, "batch_max_wait must be a finite number from 0.1"),
        ({"queue_capacity": -1}, "queue_capacity must be an integer from 0"),
        ({"workers": True}, "workers must be an integer from 1 to 64, got True"),
        ({"workers": 2.0}, "workers must be an integer from 1 to 64, got 2.0"),
        ({"processes": 65}, "processes must be an integer from 0 to 64, got 65"),
        ({"error_rate": "0.1"}, "error_rate must be a finite number from 0 to 1, got '0.1'"),
        ({"datasets": ()}, "datasets must name at least one dataset"),
        ({"datasets": ("-leading-dash",)}, "dataset names must be 1-64 letters"),
        ({"push_gateway": "ftp://gateway"}, "push_gateway must be an http:// or https:// URL"),
        ({"log_level": "INFO"}, "log_level must be one of debug, info, warning, error"),
        ({"log_format": "logfmt"}, "log_format must be one of text, json, got 'logfmt'"),
    ],
)
def test_bad_settings_are_rejected(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemoConfig(**settings)


def test_the_input_queue_defaults_to_four_slots_per_worker() -> None:
    assert DemoConfig(workers=3).input_queue_capacity == 12
    assert DemoConfig(workers=3, queue_capacity=5).input_queue_capacity == 5


def test_worker_threads_are_counted_over_the_processes() -> None:
    assert DemoConfig(workers=3).total_workers == 3
    assert DemoConfig(workers=3, processes=4).total_workers == 12


def test_known_datasets_have_their_own_profiles() -> None:
    assert profile_for("vctk").snr_range_db == (15.0, 30.0)
    assert profile_for("CommonVoice").noise_kinds[0] == "babble"
    assert profile_for("my-corpus") == profile_for("another")
    assert set(profile_for("my-corpus").noise_kinds) == {"white", "pink", "babble"}


def test_every_log_format_is_one_that_configure_logging_writes() -> None:
    assert DemoConfig().log_format == "text"
    assert set(LOG_FORMATS) <= set(logs.LOG_FORMATS)
