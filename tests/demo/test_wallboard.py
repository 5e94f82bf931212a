"""Wallboard rendering (pure: views in, lines out) and the demo's settings."""

from __future__ import annotations

from acd.demo.run import Summary, demo_settings
from acd.demo.wallboard import BUCKETS, Board, agent_buckets, render_lines, render_plain
from config import load_settings
from queueing import AgentState, AgentStatus
from queueing.views import AgentView, QueueView


def agent(i: int, status: AgentStatus, state: AgentState) -> AgentView:
    return AgentView(agent_id=str(i), status=status, pause_reason=None, state=state,
                     reachable=True, call_id=None, calls_answered=0, talk_time=0.0,
                     last_call_end=None, consecutive_no_answers=0, queues=("general",))


def board() -> Board:
    views = [
        agent(1, AgentStatus.AVAILABLE, AgentState.IDLE),
        agent(2, AgentStatus.AVAILABLE, AgentState.RESERVED),
        agent(3, AgentStatus.AVAILABLE, AgentState.ON_CALL),
        agent(4, AgentStatus.PAUSED, AgentState.ON_CALL),  # pausing after the call
        agent(5, AgentStatus.PAUSED, AgentState.IDLE),
        agent(6, AgentStatus.LOGGED_OUT, AgentState.IDLE),
        agent(7, AgentStatus.AVAILABLE, AgentState.UNREACHABLE),
        agent(8, AgentStatus.AVAILABLE, AgentState.WRAP_UP),
    ]
    queue = QueueView(name="general", waiting=3, ringing=1, oldest_wait=12.4, logged_in=7,
                      available=5, idle=1, mean_handle_time=240.0)
    return Board(queues=(queue,), agents=agent_buckets(views), service_level=0.873,
                 connection_rate=0.961, asa=4.25, offered_24h=100, answered_24h=96,
                 abandoned_24h=4, sim_clock="sim day 1 09:30 (x20)")


def test_agent_buckets() -> None:
    counts = board().agents
    assert list(counts) == list(BUCKETS)
    assert counts == {"idle": 1, "ringing": 1, "on-call": 2, "wrap-up": 1, "delayed": 0,
                      "paused": 1, "unreachable": 1, "logged-out": 1}


def test_terminal_frame_and_plain_line() -> None:
    lines = render_lines(board(), color=False)
    text = "\n".join(lines)
    assert "answered within 15 s (24 h)  87.3%" in text
    assert "connection rate (24 h)  96.1%" in text and "calls waiting 3" in text
    assert any(line.split()[:4] == ["general", "3", "1", "12s"] for line in lines)
    assert "\x1b[" not in text
    assert "\x1b[" in "\n".join(render_lines(board(), color=True))
    plain = render_plain(board())
    assert "\n" not in plain and "waiting=3" in plain and "sl15=87.3%" in plain
    assert "connection=96.1%" in plain and "on-call=2" in plain and "delayed" not in plain


def test_summary_consistency_and_rates() -> None:
    s = Summary(offered=10, answered=6, abandoned=2, overflowed=1, failed=0, in_queue=1,
                answered_within=5, asa=3.0, max_wait=20.0)
    assert s.consistent
    assert s.service_level == 5 / 8 and s.connection_rate == 6 / 9
    assert "  calls offered      10" in s.lines()


def test_demo_settings() -> None:
    base = load_settings(None)
    s = demo_settings(base, 3, environ={})
    assert [a.id for a in s.agents] == ["1001", "1002", "1003"]
    assert all(a.auto_available for a in s.agents)
    assert [str(x) for x in s.sip.listen] == ["udp:127.0.0.1:0"]
    assert s.http.listen.port == 0 and s.database.url is None
    big = demo_settings(base, 65, environ={})
    assert len(big.agents) == 65 and len({a.id for a in big.agents}) == 65
    assert big.agents[60].id == "1061" and big.agents[60].ha1 and big.agents[60].ha1_sha256
    assert any(t.allows("127.0.0.1") for t in big.trunks)
    no_trunk = demo_settings(base.model_copy(update={"trunks": ()}), 1, environ={})
    assert [t.name for t in no_trunk.trunks] == ["demo-pbx"]
