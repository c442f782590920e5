"""Checking a console command before it may reach the session.

A request body is checked completely here, in the console's process: anything wrong is answered
with a message saying which field and what is allowed, and nothing of it reaches the session.
What passes becomes a ``Command`` (the session core's), a ``Rating`` or the patient's words.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from vr.sim import Command, Rating
from vr.sim.types import RATING_SCALES

ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HUMAN_RE = re.compile(r"^h\d{3}$")
MAX_TEXT = 2000
FIELDS = ("command", "id", "value", "text", "scale", "human", "corrects", "type")
NEEDS_VALUE = {"goto_step", "set_intensity", "rating", "withhold_reply"}
NEEDS_TEXT = {"note", "say", "say_line"}
SOURCE = "console"


class BadCommand(ValueError):
    """The request cannot be a command; the message says why (the API answers 400)."""


@dataclass(frozen=True)
class Parsed:
    id: str | None
    command: Command | None = None
    rating: Rating | None = None
    words: str | None = None
    corrects: int = 0          # with ``words``: the patient's turn (its ``said`` number) these put right

    @property
    def name(self) -> str:
        return "rating" if self.rating else "say" if self.words is not None else self.command.name


def decode(raw: bytes | str) -> Any:
    """A body's JSON, refusing a key given twice in one object: JSON parsers disagree on which of
    the two counts (Python's takes the last), so what a sender meant cannot be known."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise BadCommand(f"the key {key!r} appears twice in one object; send each field once")
            out[key] = value
        return out

    try:
        return json.loads(raw or b"null", object_pairs_hook=pairs)
    except BadCommand:
        raise
    except ValueError:  # (UnicodeDecodeError is one too)
        raise BadCommand('the body is not JSON; send e.g. {"command": "pause", "id": "c-1"}') from None


def parse(body: Any, info: dict[str, Any]) -> Parsed:
    """``body``: the decoded JSON; ``info``: the session's ``/api/info`` (commands, humans, scales)."""
    if not isinstance(body, dict):
        raise BadCommand('the body must be a JSON object such as {"command": "pause", "id": "c-1"}')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadCommand(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS[:-1])}")
    name = body.get("command")
    allowed = info["commands"]
    if not isinstance(name, str) or name not in allowed:
        raise BadCommand(f"'command' must be one of {', '.join(allowed)}")
    cid = body.get("id")
    if cid is not None and (not isinstance(cid, str) or not ID_RE.match(cid)):
        raise BadCommand("'id' must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
    value = body.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value)):
        raise BadCommand("'value' must be a finite number")
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise BadCommand(f"'text' must be a string of at most {MAX_TEXT} characters")
    if name in NEEDS_VALUE and value is None:
        raise BadCommand(f"{name} needs a 'value'")
    if name in NEEDS_TEXT and not text.strip():
        raise BadCommand(f"{name} needs a 'text'")
    if name == "rating":
        scale = body.get("scale")
        scales = info["scales"]
        if scale not in scales:
            raise BadCommand(f"'scale' must be one of {', '.join(scales)}")
        lo, hi = RATING_SCALES[scale]
        if not lo <= value <= hi:
            raise BadCommand(f"a {scale} rating is from {lo} to {hi}")
        return Parsed(cid, rating=Rating(scale, float(value), SOURCE))
    if name == "say":
        corrects = body.get("corrects", 0)
        if isinstance(corrects, bool) or not isinstance(corrects, int) or not 0 <= corrects < 2**31:
            raise BadCommand("'corrects' must be the 'said' number of the patient's turn these words put right")
        return Parsed(cid, words=text, corrects=corrects)
    if name == "withhold_reply" and (not float(value).is_integer() or value < 1):
        raise BadCommand("withhold_reply's 'value' is the 'said' number of the patient's turn (1, 2, ...)")
    if name == "set_intensity" and not 0.0 <= value <= 1.0:
        raise BadCommand("set_intensity's 'value' is from 0 to 1 (the profile's cap still applies)")
    if name == "ask_rating" and text and text not in info["scales"]:
        raise BadCommand(f"ask_rating's 'text' is a scale: {', '.join(info['scales'])}")
    if name in ("say_line", "speak"):
        human = body.get("human")
        if human is not None:
            if not isinstance(human, str) or not HUMAN_RE.match(human) or human not in info["humans"]:
                raise BadCommand("'human' must be an id from the state's humans, such as h003")
            value = float(int(human[1:]))
        if name == "say_line" and text not in {line["id"] for line in info["lines"]}:
            raise BadCommand("say_line's 'text' must be the id of one of /api/info's lines")
    return Parsed(cid, command=Command(name, None if value is None else float(value), text, cid or "", SOURCE))
