"""The clinician console: a local web page that shows the session live and steers it.

``start_console`` starts the console's process (``vr.console.server``) and returns the hub that
the frame loop talks to it through (``vr.console.hub``). See ``docs/console.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ConsoleOptions:
    """Where the console listens. ``port`` None: 8765, or the next free port up to 8775."""

    host: str = "127.0.0.1"
    port: int | None = None
    announce: Callable[[str], None] | None = None   # told the address (with its token) once; on a network
                                                    # address, with the certificate's fingerprint after it
    tell: Callable[[str], None] | None = None       # told what the console says of its certificate (made, renewed)


def start_console(options: ConsoleOptions, profile, session, bank, pseudonym: str):
    """The hub of a console that serves; raises ``ConsoleUnavailable`` (a RuntimeError) when the
    address or port cannot be had."""
    from vr.console.hub import ConsoleHub
    from vr.console.state import session_info

    hub = ConsoleHub(session_info(profile, session, bank, pseudonym), session, options.host, options.port)
    hub.dialogue = bank is not None
    if options.tell is not None:
        for note in hub.notes:
            options.tell(note)
    if options.announce is not None:
        options.announce(hub.url + (f" (certificate SHA-256 {hub.fingerprint})" if hub.fingerprint else ""))
    return hub
