"""The router: commands in (each with ``now``), events and decisions out via ``drain()``.

Every command first fires the timers due at or before ``now`` (ring timeouts, wrap-up
and no-answer delays, relaxation steps, max wait), then applies itself, then runs the
dispatch pass that restores work conservation. Outputs accumulate until ``drain()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .events import Output
from .model import AgentSpec, OfferFailure, QueueSpec
from .views import AgentView, CallView, QueueView

__all__ = ["Router"]


class Router:
    """Pure, synchronous, deterministic ACD routing core."""

    def __init__(
        self,
        queues: Iterable[QueueSpec],
        agents: Iterable[AgentSpec],
        pause_reasons: Iterable[str] = (),
        *,
        seed: int = 0,
        default_handle_time: float = 180.0,
        handle_time_alpha: float = 0.1,
    ) -> None:
        raise NotImplementedError

    # --- outputs and timers -----------------------------------------------------------

    def drain(self) -> list[Output]:
        """Events and decisions produced since the last drain, in order."""
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called; None when nothing is timed."""
        raise NotImplementedError

    def handle_timer(self, now: float) -> None:
        """Fire every deadline at or before ``now``."""
        raise NotImplementedError

    # --- agent commands (status is the agent's / supervisor's choice) ----------------

    def agent_login(self, agent_id: str, now: float) -> None:
        raise NotImplementedError

    def agent_logout(self, agent_id: str, now: float) -> None:
        raise NotImplementedError

    def agent_pause(self, agent_id: str, reason: str, now: float) -> None:
        raise NotImplementedError

    def agent_available(self, agent_id: str, now: float) -> None:
        raise NotImplementedError

    def agent_end_wrapup(self, agent_id: str, now: float) -> None:
        raise NotImplementedError

    def agent_reachable(self, agent_id: str, reachable: bool, now: float) -> None:
        """Registration / qualify result from the SIP side."""
        raise NotImplementedError

    # --- call commands --------------------------------------------------------------

    def call_arrived(
        self,
        call_id: str,
        queue: str,
        now: float,
        *,
        priority: int = 0,
        extra_skills: Mapping[str, int] | None = None,
    ) -> int:
        """Queue a caller; returns its 1-based position (0 if it overflowed at once)."""
        raise NotImplementedError

    def offer_answered(self, call_id: str, agent_id: str, now: float) -> None:
        raise NotImplementedError

    def offer_failed(
        self, call_id: str, agent_id: str, reason: OfferFailure, now: float
    ) -> None:
        raise NotImplementedError

    def call_completed(self, call_id: str, now: float) -> None:
        """The bridged call ended (either side hung up): the agent goes to wrap-up."""
        raise NotImplementedError

    def caller_left(self, call_id: str, now: float) -> None:
        """The caller hung up before being answered: abandoned, offers withdrawn."""
        raise NotImplementedError

    def call_failed(self, call_id: str, reason: str, now: float) -> None:
        """An unanswered call cannot continue (media/transport failure)."""
        raise NotImplementedError

    # --- queries --------------------------------------------------------------------

    def position(self, call_id: str) -> int | None:
        raise NotImplementedError

    def estimated_wait(self, call_id: str) -> float | None:
        raise NotImplementedError

    def agent_view(self, agent_id: str) -> AgentView:
        raise NotImplementedError

    def agent_views(self) -> list[AgentView]:
        raise NotImplementedError

    def call_view(self, call_id: str) -> CallView:
        raise NotImplementedError

    def call_views(self) -> list[CallView]:
        raise NotImplementedError

    def queue_view(self, name: str) -> QueueView:
        raise NotImplementedError

    def queue_views(self) -> list[QueueView]:
        raise NotImplementedError

    def queue_for_number(self, number: str) -> str:
        """The queue a dialled number belongs to (``unknown_queue`` if none)."""
        raise NotImplementedError
