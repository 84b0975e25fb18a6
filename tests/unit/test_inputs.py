"""What people type, given to the parsers directly (``fuseboard.inputs``, ``fuseboard.cli.params``):
every bad duration, time, version, wait and URL of the hostile-input catalogue is refused in one
printable line that names the field. A few of each also go through the command lines that take them
(tests/integration/test_hostile_inputs.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
import pytest

from fuseboard import inputs
from fuseboard.cli.params import VERSION, Number
from fuseboard.errors import FuseboardError
from tests.support.hostile import BAD_DURATIONS, BAD_TIMES, BAD_URLS, BAD_VERSIONS, BAD_WAITS

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
SILENCE = {"minimum": timedelta(minutes=1), "maximum": timedelta(days=30)}  # silence --for
SOAK = {"maximum": timedelta(days=30)}  # envs set --soak / --converge
WAIT = Number(0, 86400)  # deploy / rollback --wait


def refused(call, *args, field: str, **kwargs) -> str:  # noqa: ANN001
    """The one line ``call`` refuses with; it names ``field`` and shows no control character."""
    with pytest.raises(FuseboardError) as caught:
        call(*args, **kwargs)
    line = str(caught.value)
    assert line and "\n" not in line and line.isprintable() and len(line) < 300, line
    assert field in line or caught.value.field == field, line
    return line


@pytest.mark.parametrize("key", BAD_DURATIONS)
def test_a_bad_silence_duration_is_refused(key: str) -> None:
    refused(inputs.duration, BAD_DURATIONS[key], "duration", field="duration", **SILENCE)


@pytest.mark.parametrize("key", ["huge", "negative", "exponent", "empty", "100kb", "over-30-days"])
def test_a_bad_soak_or_convergence_time_is_refused(key: str) -> None:
    refused(inputs.duration, BAD_DURATIONS[key], "soak", field="soak", **SOAK)


def test_durations_inside_the_bounds_are_read() -> None:
    assert inputs.duration("1h30m", "duration", **SILENCE) == timedelta(minutes=90)
    assert inputs.duration(" 2w ", "duration", maximum=timedelta(days=30)) == timedelta(days=14)
    assert inputs.duration("30d", "duration", **SILENCE) == timedelta(days=30)  # both bounds inclusive
    assert inputs.seconds_of("1" + "0" * 5000 + "d", "x") > inputs.seconds_of("999999999d", "x")  # no int() of it


@pytest.mark.parametrize("key", BAD_TIMES)
def test_a_bad_time_or_age_is_refused(key: str) -> None:
    refused(inputs.when, BAD_TIMES[key], "since", field="since", now=NOW)


def test_times_and_ages_inside_the_calendar_are_read() -> None:
    assert inputs.when("2h", "since", now=NOW) == NOW - timedelta(hours=2)
    assert inputs.when("1w2d", "since", now=NOW) == NOW - timedelta(days=9)
    assert inputs.when("2026-11-29T01:00:00+01:00", "since") == datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    assert inputs.when("0001-01-02T00:00Z", "since") == inputs.EARLIEST


@pytest.mark.parametrize("key", BAD_VERSIONS)
def test_a_bad_version_is_a_usage_error(key: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        VERSION.convert(BAD_VERSIONS[key], None, None)
    line = caught.value.format_message()
    assert "\n" not in line and line.isprintable() and len(line) < 300, line
    refused(inputs.whole, BAD_VERSIONS[key], "version", field="version", minimum=1)


def test_versions_and_whole_numbers_in_range_are_read() -> None:
    assert VERSION.convert("3", None, None) == 3 and VERSION.convert(7, None, None) == 7
    assert inputs.whole("2147483647", "id") == inputs.MAX_WHOLE
    assert "-1" in refused(inputs.whole, "-1", "id", field="id")


@pytest.mark.parametrize("key", BAD_WAITS)
def test_a_bad_wait_is_a_usage_error(key: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        WAIT.convert(BAD_WAITS[key], None, None)
    line = caught.value.format_message()
    assert "\n" not in line and line.isprintable() and len(line) < 300, line
    refused(inputs.number, BAD_WAITS[key], "wait", field="wait", minimum=0, maximum=86400)


def test_finite_numbers_in_range_are_read() -> None:
    assert WAIT.convert("0", None, None) == 0.0 and WAIT.convert(" 2.5 ", None, None) == 2.5
    assert inputs.number("86400", "wait", minimum=0, maximum=86400) == 86400.0


@pytest.mark.parametrize("key", BAD_URLS)
def test_a_bad_endpoint_or_webhook_url_is_refused(key: str) -> None:
    refused(inputs.url, BAD_URLS[key], "endpoint", field="endpoint")


def test_a_url_never_shows_its_password_when_refused() -> None:
    line = refused(inputs.url, "http://svc:Pa55word@host:99999/", "endpoint", field="endpoint")
    assert "Pa55word" not in line


def test_http_urls_with_a_host_are_read() -> None:
    for url in ("http://127.0.0.1:8080/health", "https://model.internal/v1?team=risk", "http://[::1]:80/"):
        assert inputs.url(url, "endpoint") == url
