"""``maker serve``: the app in a browser, an app of its own for each visitor, by textual-serve.

textual-serve runs the command once for every page that connects and draws its screen in the
browser (Textual's web driver, over a websocket). ``q`` in a page ends that visitor's app; Ctrl-C
ends the server, and with it every app it started.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import socket
import sys
from collections.abc import Callable
from typing import Any

from engine.cli.args import EXIT_OK, UsageError
from engine.cli.terminal import say

SCREENS = ("demo", "replay", "solve")
"""The commands with a screen to serve (``resume`` would have every visitor append to one file)."""
DEFAULT_PORT = 8000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EVERY_ADDRESS = ("0.0.0.0", "::", "")


def add_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="the app in a browser, for an audience (the serve extra)",
        description="Serve the app to browsers: each visitor gets an app of their own, running COMMAND (default "
        "demo). q in a page ends that visitor's app; Ctrl-C stops the server and every app it started. Needs "
        "the serve extra: pip install 'maker[serve]'.")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                       "machine only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    serve.add_argument("--public-url", default=None, metavar="URL",
                       help="the address browsers reach the server at, when it is not --host's (a proxy, a "
                       "tunnel; default: this machine's name when --host is every address)")
    serve.add_argument("app", nargs=argparse.REMAINDER, metavar="COMMAND ARGS",
                       help=f"the maker command each visitor runs: {', '.join(SCREENS)} (default demo)")


def app_command(app: list[str], parse: Callable[[list[str]], argparse.Namespace],
                check: Callable[[argparse.Namespace], None]) -> list[str]:
    """The command line each visitor's app runs, checked now as running it would check it (its
    flags, its files, its model's settings): a visitor's app that fails never shows them a thing."""
    app = app or ["demo"]
    if app[0] not in SCREENS:
        raise UsageError(f"{app[0]!r} is not a command with a screen to serve (one of {', '.join(SCREENS)})")
    parsed = parse(app)  # a bad flag is its one line and exit 2, as it would be at the prompt
    if getattr(parsed, "headless", False) or getattr(parsed, "json", False):
        raise UsageError(f"'maker {app[0]} --headless' has no screen to serve")
    if getattr(parsed, "record", None) is not None:
        raise UsageError("--record: every visitor would write the same file (each served run of a served model "
                         "records to a file of its own)")
    check(parsed)
    return [sys.executable, "-m", "tui", *app]


def public_url(host: str, port: int, given: str | None) -> str:
    """Where browsers reach the server: ``given``; else this machine's name when it listens on
    every address (0.0.0.0 is no address to open); else the host, an IPv6 one in brackets."""
    if given:
        return given.rstrip("/")
    name = socket.getfqdn() if host in EVERY_ADDRESS else host
    return f"http://{f'[{name}]' if ':' in name else name}:{port}"


def check_port(host: str, port: int) -> None:
    """A port that is taken (or an address that is not this machine's) is one line, before serving."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: a port is 1 to 65535")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is taken: give another with --port") from None
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve(args: argparse.Namespace, parse: Callable[[list[str]], argparse.Namespace],
          check: Callable[[argparse.Namespace], None]) -> int:
    """``maker serve [--host H] [--port P] [--public-url URL] [COMMAND ARGS...]``."""
    command = app_command(args.app, parse, check)
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("maker serve needs the serve extra: pip install 'maker[serve]'") from None
    check_port(args.host, args.port)
    url = public_url(args.host, args.port, args.public_url)
    if args.host not in LOCAL_HOSTS:
        say(f"maker serve: warning: listening on {args.host}: anyone who can reach port {args.port} can start runs "
            f"here, and a served model's key would be used by every visitor. Pages send browsers back to {url}: "
            "give --public-url if other machines know this one by another name", stream=sys.stderr)
    shown = shlex.join(["maker", *command[3:]])

    class MakerServer(Server):
        """textual-serve's server, saying where to point a browser in maker's words."""

        async def on_startup(self, app: Any) -> None:
            say(f"maker serve: {shown} at {self.public_url} (Ctrl-C stops it and every app it started)")

    try:
        MakerServer(shlex.join(command), host=args.host, port=args.port, title="maker", public_url=url).serve()
    except OSError as exc:  # the port, taken between the check and the server's own bind
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})") from None
    say("maker serve: stopped")
    return EXIT_OK
