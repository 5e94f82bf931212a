"""The hourly arrival profile: normalisation, scaling, the day's shape, reproducibility."""

from __future__ import annotations

import itertools
import math

import pytest

from acd.demo.profile import DEFAULT_QUEUE_MIX, HOTLINE_DAY, HOUR, HourlyProfile, queue_mix


def test_weights_are_normalised_to_a_mean_of_one() -> None:
    profile = HourlyProfile(calls_per_hour=300)
    assert len(profile.weights) == 24
    assert math.isclose(sum(profile.weights), 24.0)
    assert math.isclose(sum(profile.hourly_calls(h) for h in range(24)), 7200.0)
    assert profile.daily_calls == 7200.0


def test_calls_per_hour_scales_every_hour() -> None:
    low, high = HourlyProfile(calls_per_hour=100), HourlyProfile(calls_per_hour=2333)
    for hour in range(24):
        assert math.isclose(high.hourly_calls(hour), 23.33 * low.hourly_calls(hour))
    assert math.isclose(low.rate(10.5 * HOUR), low.hourly_calls(10) / HOUR)
    assert low.rate(34 * HOUR) == low.rate(10 * HOUR)  # day 2 repeats the shape


def test_the_shape_of_a_12345_day() -> None:
    profile = HourlyProfile(calls_per_hour=1)
    assert profile.peak_hour in (9, 10)
    night = max(profile.weights[0:6])
    assert night < 0.3 * min(profile.weights[9:11])
    assert profile.weights[12] < profile.weights[11]  # lunch dip
    assert profile.weights[12] < profile.weights[14]
    assert HOTLINE_DAY[3] > 0  # 24/7: never no calls at all


@pytest.mark.parametrize("kwargs", [
    {"calls_per_hour": -1},
    {"calls_per_hour": math.nan},
    {"calls_per_hour": 1, "weights": (1.0,) * 23},
    {"calls_per_hour": 1, "weights": (0.0,) * 24},
    {"calls_per_hour": 1, "weights": (-1.0,) + (1.0,) * 23},
    {"calls_per_hour": 1, "mix": {}},
])
def test_bad_profiles_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HourlyProfile(**kwargs)  # type: ignore[arg-type]


def test_arrivals_follow_the_profile_and_are_reproducible() -> None:
    profile = HourlyProfile(calls_per_hour=600, mix={"general": 0.75, "complaints": 0.25},
                            seed=7)
    calls = list(profile.arrivals(0.0, 24 * HOUR))
    assert calls == list(profile.arrivals(0.0, 24 * HOUR))
    assert len({c.call_id for c in calls}) == len(calls)
    assert all(a.at <= b.at for a, b in itertools.pairwise(calls))
    assert all(0.0 <= c.at < 24 * HOUR for c in calls)
    # 14,400 expected: Poisson, so within 5 standard deviations (120).
    assert abs(len(calls) - 14_400) < 600
    for hour in (3, 10, 14, 22):
        n = sum(1 for c in calls if int(c.at // HOUR) == hour)
        expected = profile.hourly_calls(hour)
        assert abs(n - expected) < 5 * math.sqrt(expected) + 1, (hour, n, expected)
    share = sum(1 for c in calls if c.queue == "complaints") / len(calls)
    assert abs(share - 0.25) < 0.02
    mean_talk = sum(c.handle_time for c in calls) / len(calls)
    assert abs(mean_talk - 240.0) < 15.0
    assert all(c.patience is not None and c.patience > 0 for c in calls)


def test_a_window_inside_one_hour() -> None:
    profile = HourlyProfile(calls_per_hour=3600)
    calls = list(profile.arrivals(9.5 * HOUR, 9.5 * HOUR + 60))
    assert all(9.5 * HOUR <= c.at < 9.5 * HOUR + 60 for c in calls)
    assert list(profile.arrivals(100.0, 100.0)) == []


def test_queue_mix() -> None:
    assert queue_mix(list(DEFAULT_QUEUE_MIX)) == pytest.approx(dict(DEFAULT_QUEUE_MIX))
    assert queue_mix(["hotline"]) == {"hotline": 1.0}
    mixed = queue_mix(["general", "tax"])
    assert math.isclose(sum(mixed.values()), 1.0)
    assert mixed["general"] > mixed["tax"] > 0
    unknown = queue_mix(["a", "b", "c"])
    assert math.isclose(sum(unknown.values()), 1.0) and unknown["a"] == pytest.approx(0.7)
    with pytest.raises(ValueError):
        queue_mix([])
