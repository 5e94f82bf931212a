"""More ``acd`` subcommands: ``migrate``, ``agents``, ``staffing``, ``report``, ``demo``.

The ``register_*`` functions here are what ``acd.cli.COMMANDS`` lists; each imports its
module only when the parser is built, so this package never imports ``acd.cli`` at import
time (no cycle) and ``acd serve`` does not load the others' dependencies.

Exit status (on top of ``acd.cli``'s): 1 the request was refused (unknown agent, invalid
transition, migration failed); 2 usage or configuration error; 69 the ACD API or the
database cannot be reached.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COMMANDS", "register_agents", "register_demo", "register_migrate",
           "register_report", "register_staffing"]


def register_migrate(subparsers: Any) -> None:
    from acd.commands.migrate import register

    register(subparsers)


def register_agents(subparsers: Any) -> None:
    from acd.commands.agents import register

    register(subparsers)


def register_staffing(subparsers: Any) -> None:
    from acd.commands.staffing import register

    register(subparsers)


def register_report(subparsers: Any) -> None:
    from acd.commands.report import register

    register(subparsers)


def register_demo(subparsers: Any) -> None:
    from acd.commands.demo import register

    register(subparsers)


COMMANDS = [register_migrate, register_agents, register_staffing, register_report,
            register_demo]
