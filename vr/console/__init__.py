"""The clinician console: a local web page that shows the session live and steers it.

``start_console`` builds the hub (between the frame loop and the server) and starts the server
on its own thread; the frame loop is given the hub. See ``docs/console.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ConsoleOptions:
    """Where the console listens. ``port`` None: 8765, or the next free port up to 8775."""

    host: str = "127.0.0.1"
    port: int | None = None
    announce: Callable[[str], None] | None = None   # told the address (with its token) once


def start_console(options: ConsoleOptions, profile, session, bank, pseudonym: str):
    """(hub, server), serving; raises RuntimeError when the address or port cannot be had."""
    from vr.console.hub import ConsoleHub
    from vr.console.server import ConsoleServer
    from vr.console.state import session_info

    hub = ConsoleHub(session_info(profile, session, bank, pseudonym), session)
    hub.dialogue = bank is not None
    server = ConsoleServer(hub, options.host, options.port)
    url = server.start()
    if options.announce is not None:
        options.announce(url)
    return hub, server
