"""Erlang B/C/A against the reference values in shared/reference/hotline-kpis.md and
against independent computations (explicit birth-death sums, quadrature)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queueing.erlang import (
    agents_required,
    average_speed_of_answer,
    erlang_a,
    erlang_a_abandon_probability,
    erlang_a_agents_required,
    erlang_a_average_speed_of_answer,
    erlang_a_service_level,
    erlang_a_wait_probability,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    occupancy,
    offered_load,
    regularized_lower_gamma,
    service_level,
)

AHT = 180.0
A10 = offered_load(100 / 1800, AHT)  # 100 calls / 30 min
A15 = offered_load(150 / 1800, AHT)


# --------------------------------------------------------------------------- reference values


def test_offered_load() -> None:
    assert pytest.approx(10.0) == A10
    assert pytest.approx(15.0) == A15


def test_erlang_c_reference_case() -> None:
    assert erlang_c(14, A10) == pytest.approx(0.174132, abs=5e-7)
    assert service_level(14, A10, AHT, 20) == pytest.approx(0.888350, abs=5e-7)
    assert service_level(14, A10, AHT, 15) == pytest.approx(0.875229, abs=5e-7)
    assert average_speed_of_answer(14, A10, AHT) == pytest.approx(7.836, abs=5e-4)
    assert occupancy(14, A10) == pytest.approx(0.714, abs=5e-4)


def test_erlang_c_metrics_row() -> None:
    m = erlang_c_metrics(14, A10, AHT, 15)
    assert m.wait_probability == pytest.approx(0.174132, abs=5e-7)
    assert m.service_level == pytest.approx(0.875229, abs=5e-7)
    assert m.average_speed_of_answer == pytest.approx(7.836, abs=5e-4)


def test_erlang_a_reference_case() -> None:
    assert erlang_a_wait_probability(14, A10, AHT, 120) == pytest.approx(0.12698, abs=5e-6)
    assert erlang_a_abandon_probability(14, A10, AHT, 120) == pytest.approx(0.02284, abs=5e-6)
    assert erlang_a_abandon_probability(14, A15, AHT, 120) == pytest.approx(0.1487, abs=5e-5)


@pytest.mark.parametrize("agents", [11, 12, 14, 20])
def test_erlang_a_infinite_patience_is_erlang_c(agents: int) -> None:
    for patience in (None, math.inf):
        assert erlang_a_wait_probability(agents, A10, AHT, patience) == erlang_c(agents, A10)
        assert erlang_a_abandon_probability(agents, A10, AHT, patience) == 0.0
        assert erlang_a_service_level(agents, A10, AHT, patience, 15) == service_level(
            agents, A10, AHT, 15
        )
    # ... and the finite formulas converge to Erlang C as patience grows (the gap
    # shrinks like 1/patience: ~5e-6 at 1e8 s for N=11, while the log-space float
    # error grows with x = Nμ/θ, ~1e-6 at 1e10 s).
    big = 1e8
    assert erlang_a_wait_probability(agents, A10, AHT, big) == pytest.approx(
        erlang_c(agents, A10), abs=2e-5
    )
    assert erlang_a_service_level(agents, A10, AHT, big, 15) == pytest.approx(
        service_level(agents, A10, AHT, 15), abs=2e-5
    )
    assert erlang_a_average_speed_of_answer(agents, A10, AHT, big) == pytest.approx(
        average_speed_of_answer(agents, A10, AHT), rel=1e-4
    )


# --------------------------------------------------------------------------- Erlang B / C


def test_erlang_b_small_values_by_hand() -> None:
    # B(1, A) = A/(1+A); B(2, A) = (A²/2)/(1 + A + A²/2)
    assert erlang_b(1, 2.0) == pytest.approx(2 / 3)
    assert erlang_b(2, 2.0) == pytest.approx(2 / 5)
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0


def test_erlang_b_large_is_finite() -> None:
    b = erlang_b(10_000, 9_800.0)
    assert 0.0 < b < 0.01


def test_erlang_c_matches_direct_formula() -> None:
    n, a = 7, 5.0
    top = a**n / math.factorial(n) * n / (n - a)
    bottom = sum(a**k / math.factorial(k) for k in range(n)) + top
    assert erlang_c(n, a) == pytest.approx(top / bottom, rel=1e-12)


def test_unstable_and_degenerate_erlang_c() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(9, 10.0) == 1.0
    assert service_level(10, 10.0, AHT, 15) == 0.0
    assert average_speed_of_answer(10, 10.0, AHT) == math.inf
    assert occupancy(9, 10.0) == 1.0
    # No traffic: nobody waits, whatever N.
    assert erlang_c(0, 0.0) == 0.0
    assert erlang_c(3, 0.0) == 0.0
    assert service_level(0, 0.0, AHT, 15) == 1.0
    assert average_speed_of_answer(0, 0.0, AHT) == 0.0
    assert occupancy(0, 0.0) == 0.0
    # Traffic and no agents: everyone waits forever.
    assert erlang_c(0, 1.0) == 1.0
    assert average_speed_of_answer(0, 1.0, AHT) == math.inf
    assert occupancy(0, 1.0) == 1.0


def test_agents_required_erlang_c() -> None:
    n = agents_required(A10, AHT, 15, 0.80)
    assert service_level(n, A10, AHT, 15) >= 0.80
    assert service_level(n - 1, A10, AHT, 15) < 0.80
    assert agents_required(A10, AHT, 15, 0.87) == 14
    assert agents_required(A10, AHT, 15, 0.88) == 15
    assert agents_required(0.0, AHT, 15, 0.8) == 0


def test_agents_required_erlang_a() -> None:
    n = erlang_a_agents_required(A10, AHT, 120, 15, 0.9)
    assert erlang_a_service_level(n, A10, AHT, 120, 15) >= 0.9
    assert erlang_a_service_level(n - 1, A10, AHT, 120, 15) < 0.9
    # Patience makes the queue cheaper to staff than Erlang C predicts.
    assert n <= agents_required(A10, AHT, 15, 0.9)
    # An abandonment cap can only raise the staffing.
    m = erlang_a_agents_required(A10, AHT, 120, 15, 0.9, max_abandon=0.001)
    assert m >= n
    assert erlang_a_abandon_probability(m, A10, AHT, 120) <= 0.001
    assert erlang_a_agents_required(A10, AHT, None, 15, 0.8) == agents_required(A10, AHT, 15, 0.8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_b(-1, 1.0), "agents must be >= 0"),
        (lambda: erlang_c(2.5, 1.0), "agents must be an integer"),  # type: ignore[arg-type]
        (lambda: erlang_c(True, 1.0), "agents must be an integer"),
        (lambda: erlang_c(3, -1.0), "load must be a finite number >= 0"),
        (lambda: erlang_c(3, math.nan), "load must be a finite number >= 0"),
        (lambda: service_level(3, 1.0, 0.0, 15), "aht must be a finite number > 0"),
        (lambda: service_level(3, 1.0, AHT, -1), "target_time must be"),
        (lambda: offered_load(-1.0, AHT), "arrival_rate must be"),
        (lambda: agents_required(10.0, AHT, 15, 1.0), "target_sl must be strictly between"),
        (lambda: agents_required(10.0, AHT, 15, 0.0), "target_sl must be strictly between"),
        (lambda: erlang_a_wait_probability(3, 1.0, AHT, 0.0), "patience must be > 0"),
        (lambda: erlang_a_wait_probability(3, 1.0, AHT, -5.0), "patience must be > 0"),
        (lambda: erlang_a_wait_probability(3, 1.0, AHT, math.nan), "patience must be > 0"),
        (
            lambda: erlang_a_agents_required(10.0, AHT, 60, 15, 0.8, max_abandon=2.0),
            "max_abandon must be strictly between",
        ),
        (lambda: regularized_lower_gamma(0.0, 1.0), "a must be a finite number > 0"),
    ],
)
def test_invalid_arguments_raise_value_error(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- incomplete gamma


@pytest.mark.parametrize("z", [0.0, 0.1, 1.0, 2.5, 10.0, 50.0])
def test_regularized_gamma_closed_forms(z: float) -> None:
    assert regularized_lower_gamma(1.0, z) == pytest.approx(1 - math.exp(-z), abs=1e-14)
    assert regularized_lower_gamma(0.5, z) == pytest.approx(math.erf(math.sqrt(z)), abs=1e-14)
    for n in (2, 5, 30):
        poisson_head = sum(z**k / math.factorial(k) for k in range(n)) * math.exp(-z)
        assert regularized_lower_gamma(float(n), z) == pytest.approx(1 - poisson_head, abs=1e-13)


# ------------------------------------------------------------------ Erlang A, independently


def _birth_death(agents: int, load: float, aht: float, patience: float) -> list[float]:
    """Stationary distribution of M/M/N+M by direct normalisation (float, log-free)."""
    lam, mu, theta = load / aht, 1 / aht, 1 / patience
    probs = [1.0]
    n = 0
    while True:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        probs.append(probs[-1] * lam / death)
        if n > agents and probs[-1] < 1e-18 * max(probs):
            break
    total = sum(probs)
    return [p / total for p in probs]


@pytest.mark.parametrize(
    ("agents", "load", "patience"),
    [(14, 10.0, 120.0), (14, 15.0, 120.0), (5, 3.0, 30.0), (20, 25.0, 600.0), (1, 0.5, 10.0)],
)
def test_erlang_a_against_birth_death_chain(agents: int, load: float, patience: float) -> None:
    pi = _birth_death(agents, load, AHT, patience)
    p_wait = sum(pi[agents:])
    mean_queue = sum((n - agents) * p for n, p in enumerate(pi) if n > agents)
    p_abandon = mean_queue / patience / (load / AHT)  # abandonment rate θ·E[Q] over λ
    assert erlang_a_wait_probability(agents, load, AHT, patience) == pytest.approx(p_wait, rel=1e-9)
    assert erlang_a_abandon_probability(agents, load, AHT, patience) == pytest.approx(
        p_abandon, rel=1e-9
    )


@pytest.mark.parametrize(
    ("agents", "load", "patience"), [(14, 10.0, 120.0), (14, 15.0, 120.0), (5, 3.0, 30.0)]
)
def test_erlang_a_service_level_and_asa_against_quadrature(
    agents: int, load: float, patience: float
) -> None:
    """SL(t) from the tagged-caller chain; ASA = ∫(P(answered) − SL(t))dt / P(answered)."""
    pi = _birth_death(agents, load, AHT, patience)
    mu, theta = 1 / AHT, 1 / patience

    def sl_reference(t: float) -> float:
        # Caller finding j queued: offered wait V is a sum of exponentials with rates
        # Nμ + iθ (i = j..0). Answered within t ⇔ V ≤ t and patience > V. Integrate
        # the density of V·e^{-θV} by the uniformisation-free trick: P(answered ∧ V ≤ t)
        # = ∫_0^t f_V(s) e^{-θs} ds, with f_V by Simpson on the hypoexponential CDF.
        total = sum(pi[:agents])
        steps = 400
        h = t / steps
        for j, p in enumerate(pi[agents:]):
            if p < 1e-14:
                continue
            rates = [agents * mu + i * theta for i in range(j + 1)]
            acc = 0.0
            for k in range(steps + 1):
                s = k * h
                weight = 1 if k in (0, steps) else (4 if k % 2 else 2)
                acc += weight * _hypoexp_pdf(rates, s) * math.exp(-theta * s)
            total += p * acc * h / 3
        return total

    for t in (5.0, 15.0, 60.0):
        assert erlang_a_service_level(agents, load, AHT, patience, t) == pytest.approx(
            sl_reference(t), abs=2e-7
        )

    p_ans = 1 - erlang_a_abandon_probability(agents, load, AHT, patience)
    # ∫_0^∞ (P(ans) − SL(t)) dt by Simpson on a grid long enough for the tail to vanish.
    horizon, steps = 40 * patience, 4000
    h = horizon / steps
    integral = 0.0
    for k in range(steps + 1):
        weight = 1 if k in (0, steps) else (4 if k % 2 else 2)
        integral += weight * (p_ans - erlang_a_service_level(agents, load, AHT, patience, k * h))
    asa_reference = integral * h / 3 / p_ans
    assert erlang_a_average_speed_of_answer(agents, load, AHT, patience) == pytest.approx(
        asa_reference, rel=1e-6
    )


def _hypoexp_pdf(rates: list[float], s: float) -> float:
    """Density of a sum of independent exponentials with distinct rates."""
    total = 0.0
    for i, ri in enumerate(rates):
        coef = 1.0
        for k, rk in enumerate(rates):
            if k != i:
                coef *= rk / (rk - ri)
        total += coef * ri * math.exp(-ri * s)
    return total


def test_erlang_a_metrics_and_degenerate_cases() -> None:
    m = erlang_a(14, A10, AHT, 120, 15)
    assert m.wait_probability == pytest.approx(0.12698, abs=5e-6)
    assert m.abandon_probability == pytest.approx(0.02284, abs=5e-6)
    assert 0.875229 < m.service_level < 1  # patience helps those who stay
    assert 0 < m.average_speed_of_answer < 7.836
    assert m.occupancy == pytest.approx(A10 * (1 - m.abandon_probability) / 14)
    # Overload is stable in Erlang A: abandonment soaks up the excess (fluid limit).
    over = erlang_a(1000, 1100.0, AHT, 120, 15)
    assert over.abandon_probability == pytest.approx(100 / 1100, rel=0.01)
    # No agents: every caller abandons; no traffic: nothing happens.
    none = erlang_a(0, 3.0, AHT, 120, 15)
    assert (none.wait_probability, none.abandon_probability, none.service_level) == (1, 1, 0)
    assert none.average_speed_of_answer == math.inf
    idle = erlang_a(0, 0.0, AHT, 120, 15)
    assert (idle.wait_probability, idle.abandon_probability, idle.service_level) == (0, 0, 1)


def test_erlang_a_large_centre_is_finite_and_fast() -> None:
    m = erlang_a(10_000, 9_990.0, AHT, 3600, 15)
    assert 0 < m.abandon_probability < 0.01
    assert 0 < m.service_level < 1
    assert math.isfinite(m.average_speed_of_answer)


@settings(max_examples=60, deadline=None)
@given(
    agents=st.integers(min_value=1, max_value=200),
    load=st.floats(min_value=0.01, max_value=250.0),
    patience=st.floats(min_value=1.0, max_value=3600.0),
    t=st.floats(min_value=0.0, max_value=120.0),
)
def test_erlang_a_properties(agents: int, load: float, patience: float, t: float) -> None:
    p_wait = erlang_a_wait_probability(agents, load, AHT, patience)
    p_ab = erlang_a_abandon_probability(agents, load, AHT, patience)
    sl = erlang_a_service_level(agents, load, AHT, patience, t)
    assert 0.0 <= p_ab <= p_wait <= 1.0
    assert 1.0 - p_wait - 1e-12 <= sl <= 1.0 - p_ab + 1e-12
    # One more agent never makes things worse.
    assert erlang_a_abandon_probability(agents + 1, load, AHT, patience) <= p_ab + 1e-12
    assert erlang_a_service_level(agents + 1, load, AHT, patience, t) >= sl - 1e-12
    # Erlang A never waits more than Erlang C for the same staffing.
    assert p_wait <= erlang_c(agents, load) + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    agents=st.integers(min_value=1, max_value=500),
    utilisation=st.floats(min_value=0.05, max_value=0.99),
    t=st.floats(min_value=0.0, max_value=300.0),
)
def test_erlang_c_properties(agents: int, utilisation: float, t: float) -> None:
    load = agents * utilisation
    c = erlang_c(agents, load)
    assert erlang_b(agents, load) <= c <= 1.0
    assert 1.0 - c <= service_level(agents, load, AHT, t) <= 1.0
    assert erlang_c(agents + 1, load) <= c
