"""``acd agents``: list agents and set their status through the running ACD's API.

    acd agents list [--status paused] [--queue general] [--json]
    acd agents show 1001
    acd agents login|logout|available|end-wrapup 1001
    acd agents pause 1001 --reason lunch

The API address is ``--url``, else ``ACD_API_URL``, else ``http.listen`` from the
configuration; the token is ``--token``, else ``ACD_API_TOKEN``, else the configuration's
first ``admin`` token for actions (any token for reads). A refusal prints the problem's
code and detail (exit 1); an unreachable API exits 69.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from acd.cli import EXIT_OK, EXIT_USAGE, CliError

from .common import EXIT_REFUSED, EXIT_UNREACHABLE, load_config, render_table

__all__ = ["ApiClient", "register"]

ACTIONS = ("login", "logout", "available", "end-wrapup")


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", metavar="URL",
                        help="ACD HTTP address, e.g. http://127.0.0.1:8080 "
                        "(default: ACD_API_URL, then http.listen from the config)")
    common.add_argument("--token", metavar="TOKEN",
                        help="bearer token (default: ACD_API_TOKEN, then the config)")
    common.add_argument("--config", "-c", metavar="PATH", help="YAML configuration file")
    common.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="HTTP timeout (default 10)")

    parser = subparsers.add_parser(
        "agents",
        help="list agents; log in, pause, make available, end wrap-up, log out",
        description="Agents of the running ACD, through its HTTP API.",
    )
    sub = parser.add_subparsers(dest="agents_command", metavar="ACTION",
                                parser_class=type(parser))
    sub.required = True
    lst = sub.add_parser("list", parents=[common], help="every agent with status and state")
    lst.add_argument("--status", choices=["logged-out", "available", "paused"])
    lst.add_argument("--queue", metavar="NAME", help="only members of this queue")
    lst.add_argument("--json", action="store_true", help="the API's JSON")
    lst.set_defaults(handler=_list)
    show = sub.add_parser("show", parents=[common], help="one agent")
    show.add_argument("agent", metavar="AGENT_ID")
    show.add_argument("--json", action="store_true", help="the API's JSON")
    show.set_defaults(handler=_show)
    for action in ACTIONS:
        p = sub.add_parser(action, parents=[common], help=f"{action} an agent")
        p.add_argument("agent", metavar="AGENT_ID")
        p.set_defaults(handler=_action, action=action)
    pause = sub.add_parser("pause", parents=[common], help="pause an agent with a reason")
    pause.add_argument("agent", metavar="AGENT_ID")
    pause.add_argument("--reason", required=True, help="one of the configured pause_reasons")
    pause.set_defaults(handler=_action, action="pause")


class ApiClient:
    """A small blocking client for the supervisor API (stdlib only)."""

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _problem(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(f"cannot reach the ACD API at {self.url}: {reason}",
                           EXIT_UNREACHABLE) from None
        except ValueError as exc:
            raise CliError(f"the ACD API at {self.url} sent invalid JSON: {exc}",
                           EXIT_UNREACHABLE) from None


def _problem(exc: urllib.error.HTTPError) -> CliError:
    try:
        body = json.loads(exc.read() or b"{}")
        code, detail = str(body.get("code", "")), str(body.get("detail", exc.reason))
    except (ValueError, AttributeError, OSError):
        code, detail = "", str(exc.reason)
    if exc.code >= 500:
        status = EXIT_UNREACHABLE
    elif exc.code in (401, 403):
        status = EXIT_USAGE
    else:
        status = EXIT_REFUSED
    prefix = f"{code}: " if code else ""
    return CliError(f"{prefix}{detail} (HTTP {exc.code})", status)


def _client(args: argparse.Namespace, *, admin: bool) -> ApiClient:
    url = args.url or os.environ.get("ACD_API_URL")
    token = args.token or os.environ.get("ACD_API_TOKEN")
    if url is None or token is None:
        settings = load_config(args.config)
        if url is None:
            listen = settings.http.listen
            host = listen.host.strip("[]")
            if ipaddress.ip_address(host).is_unspecified:
                host = "127.0.0.1" if ipaddress.ip_address(host).version == 4 else "::1"
            if not listen.port:
                raise CliError("http.listen has port 0: give the address with --url",
                               EXIT_USAGE)
            bracket = f"[{host}]" if ":" in host else host
            url = f"http://{bracket}:{listen.port}"
        if token is None and settings.http.tokens:
            ranked = sorted(settings.http.tokens, key=lambda t: t.role.value != "admin")
            if admin and ranked[0].role.value != "admin":
                raise CliError("this action needs an admin token: none in the configuration "
                               "(use --token)", EXIT_USAGE)
            token = ranked[0].token.get_secret_value()
    return ApiClient(url, token, args.timeout)


def _agent_path(agent_id: str) -> str:
    return "/api/v1/agents/" + urllib.parse.quote(agent_id, safe="")


def _fmt_agent_row(a: dict[str, Any]) -> list[str]:
    status = a["status"] + (f" ({a['pause_reason']})" if a.get("pause_reason") else "")
    return [
        a["id"], a.get("name", ""), status, a["state"], "yes" if a["reachable"] else "no",
        a.get("call_id") or "-", str(a["calls_answered"]), f"{a['talk_seconds']:.0f}",
    ]


_HEADERS = ["ID", "NAME", "STATUS", "STATE", "REACHABLE", "CALL", "ANSWERED", "TALK s"]
_RIGHT = [False] * 6 + [True, True]


def _list(args: argparse.Namespace) -> int:
    query = {k: v for k, v in (("status", args.status), ("queue", args.queue)) if v}
    path = "/api/v1/agents" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    agents = _client(args, admin=False).request("GET", path)
    if args.json:
        print(json.dumps(agents, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(render_table(_HEADERS, [_fmt_agent_row(a) for a in agents], _RIGHT))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    agent = _client(args, admin=False).request("GET", _agent_path(args.agent))
    if args.json:
        print(json.dumps(agent, indent=2, ensure_ascii=False))
    else:
        print(render_table(_HEADERS, [_fmt_agent_row(agent)], _RIGHT))
    return EXIT_OK


def _action(args: argparse.Namespace) -> int:
    client = _client(args, admin=True)
    body = {"reason": args.reason} if args.action == "pause" else None
    agent = client.request("POST", f"{_agent_path(args.agent)}/{args.action}", body)
    status = agent["status"] + (f" ({agent['pause_reason']})" if agent.get("pause_reason")
                                else "")
    print(f"{agent['id']}: {status}, {agent['state']}")
    return EXIT_OK
