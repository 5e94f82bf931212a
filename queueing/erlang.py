"""Erlang B, Erlang C and Erlang A (M/M/N+M, the Palm queue) formulas.

Pure math on floats, standard library only. Conventions used throughout:

* ``load`` is the offered traffic intensity A = λ·AHT in erlangs.
* ``aht`` is the mean handle time (talk + wrap-up) in seconds, 1/μ.
* ``patience`` is the callers' mean patience in seconds, 1/θ (exponentially
  distributed); ``None`` means infinite patience, i.e. Erlang C.
* ``target_time`` is the service-level threshold T in seconds.

Service level here is always "answered within T / offered". With infinite
patience every offered call is eventually answered, so this equals Erlang C's
P(W ≤ T); with abandonment it is the strict GB/T 33358 reading
(answered ≤ T / (answered + abandoned)).

Erlang A follows Mandelbaum & Zeltyn, "The Palm/Erlang-A Queue, with
Applications to Call Centers". With x = Nμ/θ and y = λ/θ the formulas use the
lower incomplete gamma function γ(x, y); we work with its regularised form
P(a, z) = γ(a, z)/Γ(a) in log space (series for z < a + 1, Lentz continued
fraction otherwise) so that neither e^y nor y^x overflows for large centres.
The service-level and ASA expressions are derived from the fact that, for a
caller finding j others queued, U = e^{-θV} (V the offered wait) is
Beta(x, j + 1)-distributed; see ``_erlang_a_core``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangAMetrics",
    "ErlangCMetrics",
    "agents_required",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_a_abandon_probability",
    "erlang_a_agents_required",
    "erlang_a_average_speed_of_answer",
    "erlang_a_service_level",
    "erlang_a_wait_probability",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "occupancy",
    "offered_load",
    "regularized_lower_gamma",
    "service_level",
]

_EPS = 1e-16
# Staffing searches stop here rather than looping forever on absurd targets.
_MAX_AGENTS = 1_000_000


# --------------------------------------------------------------------------- validation


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise ValueError(f"agents must be an integer, got {agents!r}")
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")


def _check_nonneg(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_pos(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_patience(patience: float | None) -> None:
    if patience is None or patience == math.inf:
        return
    if math.isnan(patience) or patience <= 0:
        raise ValueError(f"patience must be > 0 seconds or None (infinite), got {patience!r}")


def _check_fraction(name: str, value: float) -> None:
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")


# --------------------------------------------------------------------------- Erlang B / C


def offered_load(arrival_rate: float, aht: float) -> float:
    """Offered load A = λ·AHT in erlangs; ``arrival_rate`` in calls per second."""
    _check_nonneg("arrival_rate", arrival_rate)
    _check_nonneg("aht", aht)
    return arrival_rate * aht


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N, by the stable recursion B_k = A·B/(k + A·B)."""
    _check_agents(agents)
    _check_nonneg("load", load)
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """P(wait > 0) in M/M/N. Returns 1.0 when the queue is unstable (N ≤ A, A > 0).

    With no traffic (A = 0) nobody waits (0.0), whatever N; with traffic and no
    agents every call waits (1.0).
    """
    _check_agents(agents)
    _check_nonneg("load", load)
    if load == 0.0:
        return 0.0
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def service_level(agents: int, load: float, aht: float, target_time: float) -> float:
    """Erlang C P(W ≤ T) = 1 − C·e^{−(N−A)·T/AHT}; 0.0 when unstable."""
    _check_pos("aht", aht)
    _check_nonneg("target_time", target_time)
    c = erlang_c(agents, load)
    if c == 0.0:
        return 1.0
    if agents <= load:
        return 0.0
    return 1.0 - c * math.exp(-(agents - load) * target_time / aht)


def average_speed_of_answer(agents: int, load: float, aht: float) -> float:
    """Erlang C ASA = C·AHT/(N − A) in seconds; ``math.inf`` when unstable (N ≤ A, A > 0)."""
    _check_pos("aht", aht)
    c = erlang_c(agents, load)
    if c == 0.0:
        return 0.0
    if agents <= load:
        return math.inf
    return c * aht / (agents - load)


def occupancy(agents: int, load: float) -> float:
    """Agent occupancy A/N, capped at 1.0 (an overloaded centre is fully busy).

    With no agents: 1.0 if there is traffic, else 0.0.
    """
    _check_agents(agents)
    _check_nonneg("load", load)
    if agents == 0:
        return 1.0 if load > 0 else 0.0
    return min(load / agents, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErlangCMetrics:
    agents: int
    load: float
    wait_probability: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float


def erlang_c_metrics(agents: int, load: float, aht: float, target_time: float) -> ErlangCMetrics:
    """All Erlang C figures for one staffing level (one row of a staffing table)."""
    return ErlangCMetrics(
        agents=agents,
        load=load,
        wait_probability=erlang_c(agents, load),
        service_level=service_level(agents, load, aht, target_time),
        average_speed_of_answer=average_speed_of_answer(agents, load, aht),
        occupancy=occupancy(agents, load),
    )


def agents_required(load: float, aht: float, target_time: float, target_sl: float) -> int:
    """Smallest N with Erlang C service level ≥ ``target_sl`` (0 < target_sl < 1)."""
    _check_nonneg("load", load)
    _check_pos("aht", aht)
    _check_nonneg("target_time", target_time)
    _check_fraction("target_sl", target_sl)
    if load == 0.0:
        return 0
    n = max(1, math.floor(load) + 1)  # smallest stable staffing
    while service_level(n, load, aht, target_time) < target_sl:
        n += 1
        if n > _MAX_AGENTS:
            raise ValueError(f"no staffing up to {_MAX_AGENTS} agents reaches SL {target_sl}")
    return n


# --------------------------------------------------------------------------- incomplete gamma


def _log_gamma_p(a: float, z: float) -> float:
    """ln P(a, z), the log of the regularised lower incomplete gamma function."""
    if z == 0.0:
        return -math.inf
    log_prefix = a * math.log(z) - z - math.lgamma(a)
    # Both expansions need O(sqrt(a)) terms near z ≈ a; allow generously more.
    max_iter = 1000 + int(60.0 * math.sqrt(a + z))
    if z < a + 1.0:
        # γ(a,z) = z^a e^{-z} Σ_k z^k / (a(a+1)...(a+k))
        term = 1.0 / a
        total = term
        ap = a
        for _ in range(max_iter):
            ap += 1.0
            term *= z / ap
            total += term
            if term < total * _EPS:
                return log_prefix + math.log(total)
        raise ArithmeticError(f"incomplete gamma series did not converge (a={a}, z={z})")
    # Q(a,z) by the modified Lentz continued fraction; P = 1 − Q (Q ≤ ~0.5 here).
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, max_iter):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return math.log1p(-math.exp(log_prefix + math.log(h)))
    raise ArithmeticError(f"incomplete gamma continued fraction did not converge (a={a}, z={z})")


def regularized_lower_gamma(a: float, z: float) -> float:
    """P(a, z) = γ(a, z)/Γ(a) for a > 0, z ≥ 0."""
    _check_pos("a", a)
    _check_nonneg("z", z)
    return math.exp(_log_gamma_p(a, z))


# --------------------------------------------------------------------------- Erlang A


@dataclass(frozen=True, slots=True)
class _ErlangACore:
    p_wait: float  # P(W > 0): all agents busy on arrival
    log_inv_a: float  # ln 1/A(x, y), Mandelbaum & Zeltyn's A function
    inv_a: float
    rho: float  # λ/(Nμ)
    x: float  # Nμ/θ
    y: float  # λ/θ
    log_p_xy: float  # ln P(x, y)
    theta: float


def _erlang_a_core(agents: int, load: float, aht: float, patience: float) -> _ErlangACore:
    # π_N = E/(1 + (A−1)E), P(W>0) = A·π_N with E = Erlang B(N, load) and
    # A(x,y) = x e^y y^{-x} γ(x,y) = e^y y^{-x} Γ(x+1) P(x,y).
    theta = 1.0 / patience
    mu = 1.0 / aht
    lam = load * mu
    x = agents * mu / theta
    y = lam / theta
    log_p_xy = _log_gamma_p(x, y)
    log_inv_a = x * math.log(y) - y - math.lgamma(x + 1.0) - log_p_xy
    inv_a = math.exp(log_inv_a)
    e = erlang_b(agents, load)
    p_wait = e / (inv_a + e * (1.0 - inv_a))
    return _ErlangACore(
        p_wait=p_wait,
        log_inv_a=log_inv_a,
        inv_a=inv_a,
        rho=lam / (agents * mu),
        x=x,
        y=y,
        log_p_xy=log_p_xy,
        theta=theta,
    )


def _erlang_a_args(agents: int, load: float, aht: float, patience: float | None) -> None:
    _check_agents(agents)
    _check_nonneg("load", load)
    _check_pos("aht", aht)
    _check_patience(patience)


def _infinite(patience: float | None) -> bool:
    return patience is None or patience == math.inf


def erlang_a_wait_probability(
    agents: int, load: float, aht: float, patience: float | None
) -> float:
    """P(W > 0) in M/M/N+M (Erlang C's value when ``patience`` is None)."""
    _erlang_a_args(agents, load, aht, patience)
    if _infinite(patience):
        return erlang_c(agents, load)
    assert patience is not None
    if load == 0.0:
        return 0.0
    if agents == 0:
        return 1.0
    return _erlang_a_core(agents, load, aht, patience).p_wait


def erlang_a_abandon_probability(
    agents: int, load: float, aht: float, patience: float | None
) -> float:
    """P(abandon) = P(W>0)·(1/(ρA) + 1 − 1/ρ); 0.0 with infinite patience (nobody
    ever gives up, even when an unstable queue grows without bound)."""
    _erlang_a_args(agents, load, aht, patience)
    if _infinite(patience):
        return 0.0
    assert patience is not None
    if load == 0.0:
        return 0.0
    if agents == 0:
        return 1.0
    k = _erlang_a_core(agents, load, aht, patience)
    return k.p_wait * (1.0 - (1.0 - k.inv_a) / k.rho)


def erlang_a_service_level(
    agents: int, load: float, aht: float, patience: float | None, target_time: float
) -> float:
    """P(answered with wait ≤ T), i.e. answered within T / offered.

    Answered after a positive wait ≤ T has probability
    π_N·x·∫_{e^{−θT}}^{1} u^x e^{y(1−u)} du = P(W>0)/ρ·[(1 − 1/A) − P(x+1, y e^{−θT})/P(x, y)].
    """
    _erlang_a_args(agents, load, aht, patience)
    _check_nonneg("target_time", target_time)
    if _infinite(patience):
        return service_level(agents, load, aht, target_time)
    assert patience is not None
    if load == 0.0:
        return 1.0
    if agents == 0:
        return 0.0
    k = _erlang_a_core(agents, load, aht, patience)
    w = math.exp(-k.theta * target_time)
    late = math.exp(_log_gamma_p(k.x + 1.0, k.y * w) - k.log_p_xy)
    answered_after_wait = (1.0 - k.inv_a - late) / k.rho
    return (1.0 - k.p_wait) + k.p_wait * max(answered_after_wait, 0.0)


def erlang_a_average_speed_of_answer(
    agents: int, load: float, aht: float, patience: float | None
) -> float:
    """Mean wait of *answered* calls (seconds) in M/M/N+M.

    Exact series: a caller finding j queued is answered with probability
    x/(x+j+1) and E[V·1{answered} | j] = x/(x+j+1)·(ψ(x+j+2) − ψ(x+1))/θ,
    summed against the stationary weights π_{N+j} = π_N·Π_{i≤j} y/(x+i). The
    weights are unimodal in j with mode max(0, y − x) and spread O(√max(x, y)),
    so only a window of that width is summed (in log space).
    """
    _erlang_a_args(agents, load, aht, patience)
    if _infinite(patience):
        return average_speed_of_answer(agents, load, aht)
    assert patience is not None
    if load == 0.0:
        return 0.0
    if agents == 0:
        return math.inf
    k = _erlang_a_core(agents, load, aht, patience)
    x, y = k.x, k.y
    log_pi_n = math.log(k.p_wait) + k.log_inv_a
    mode = max(0, math.ceil(y - x))
    half_width = 40 + int(40.0 * math.sqrt(max(x, y, 1.0)))
    j0 = max(0, mode - half_width)
    j1 = mode + half_width
    log_y = math.log(y)
    lg_x1 = math.lgamma(x + 1.0)
    harmonic = _digamma(x + j0 + 2.0) - _digamma(x + 1.0)
    wait_sum = 0.0
    for j in range(j0, j1 + 1):
        if j > j0:
            harmonic += 1.0 / (x + j + 1.0)
        log_w = log_pi_n + j * log_y - (math.lgamma(x + j + 1.0) - lg_x1)
        wait_sum += math.exp(log_w) * x / (x + j + 1.0) * harmonic
    answered = 1.0 - erlang_a_abandon_probability(agents, load, aht, patience)
    return wait_sum / k.theta / answered


def _digamma(v: float) -> float:
    """ψ(v) for v > 0: recurrence up to v ≥ 10, then the asymptotic series."""
    result = 0.0
    while v < 10.0:
        result -= 1.0 / v
        v += 1.0
    inv = 1.0 / v
    inv2 = inv * inv
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return result + math.log(v) - 0.5 * inv - series


@dataclass(frozen=True, slots=True, kw_only=True)
class ErlangAMetrics:
    agents: int
    load: float
    wait_probability: float
    abandon_probability: float
    service_level: float
    average_speed_of_answer: float
    occupancy: float  # carried load / N: only answered calls occupy agents


def erlang_a(
    agents: int, load: float, aht: float, patience: float | None, target_time: float
) -> ErlangAMetrics:
    """All Erlang A figures for one staffing level."""
    p_ab = erlang_a_abandon_probability(agents, load, aht, patience)
    carried = load * (1.0 - p_ab)
    return ErlangAMetrics(
        agents=agents,
        load=load,
        wait_probability=erlang_a_wait_probability(agents, load, aht, patience),
        abandon_probability=p_ab,
        service_level=erlang_a_service_level(agents, load, aht, patience, target_time),
        average_speed_of_answer=erlang_a_average_speed_of_answer(agents, load, aht, patience),
        occupancy=occupancy(agents, carried),
    )


def erlang_a_agents_required(
    load: float,
    aht: float,
    patience: float | None,
    target_time: float,
    target_sl: float,
    max_abandon: float | None = None,
) -> int:
    """Smallest N whose Erlang A service level ≥ ``target_sl`` (and, if given,
    whose abandonment probability ≤ ``max_abandon``)."""
    _check_nonneg("load", load)
    _check_pos("aht", aht)
    _check_patience(patience)
    _check_nonneg("target_time", target_time)
    _check_fraction("target_sl", target_sl)
    if max_abandon is not None:
        _check_fraction("max_abandon", max_abandon)
    if load == 0.0:
        return 0
    n = 1 if not _infinite(patience) else math.floor(load) + 1
    while True:
        ok = erlang_a_service_level(n, load, aht, patience, target_time) >= target_sl
        if ok and max_abandon is not None:
            ok = erlang_a_abandon_probability(n, load, aht, patience) <= max_abandon
        if ok:
            return n
        n += 1
        if n > _MAX_AGENTS:
            raise ValueError(f"no staffing up to {_MAX_AGENTS} agents reaches the targets")
