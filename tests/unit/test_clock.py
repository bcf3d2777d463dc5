import datetime

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _clock as clock

AT = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def test_times_round_trip_at_both_precisions():
    moment = datetime.datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=datetime.timezone.utc)
    assert clock.format_time(moment) == "2025-03-04T05:06:07Z"
    assert clock.parse_time("2025-03-04T05:06:07Z") == moment.replace(microsecond=0)
    assert clock.micro_time(moment) == "2025-03-04T05:06:07.000890Z"
    assert clock.parse_time(clock.micro_time(moment)) == moment
    assert clock.format_time(None) is None
    assert clock.utcnow().microsecond == 0


@pytest.mark.parametrize("text", [None, "", "yesterday", "2025-03-04 05:06:07"])
def test_unreadable_times_are_none(text):
    assert clock.parse_time(text) is None


@pytest.mark.parametrize("seconds, age", [
    (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (599, "9m59s"), (600, "10m"),
    (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"),
    (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"), (9 * 365 * 86400 + 86400, "9y")])
def test_ages_read_like_kubectl(seconds, age):
    created = clock.format_time(AT - datetime.timedelta(seconds=seconds))
    assert clock.human_age(created, AT) == age


def test_ages_from_the_future_or_unknown():
    assert clock.human_age(clock.format_time(AT + datetime.timedelta(seconds=1)), AT) == "0s"
    assert clock.human_age(clock.format_time(AT + datetime.timedelta(seconds=5)), AT) == "<invalid>"
    assert clock.human_age(None, AT) == "<unknown>"
