"""Line banks: every sentence a virtual human may ever say, written and vetted by people.

A bank belongs to one scene (or to the distraction companion) and lists its roles and lines.
Each line has a stable id, its text, an intensity band, intent tags and, for lines that answer
the patient, a few example things a patient might say that the line is a good answer to
(``answers``). The dialogue system only ever chooses among these lines; it never writes one.

Bands run from the gentlest to the harshest; a step's dialogue intensity (0-1) picks one, and
a line is never chosen from a band harsher than the step's:

==========  ==============  ==================================================================
band        intensity       tone
==========  ==============  ==================================================================
warm        0.0 - 0.2       encouraging, kind, reassuring
neutral     0.2 - 0.4       polite and matter-of-fact
curt        0.4 - 0.6       short, a little impatient or distracted
critical    0.6 - 0.8       doubting, challenging, pointed
hostile     0.8 - 1.0       openly dismissive or rude, never a slur, threat or abuse
==========  ==============  ==================================================================
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vr.config.fields import Model, param

BANDS = ("warm", "neutral", "curt", "critical", "hostile")
BAND_UPPER = (0.2, 0.4, 0.6, 0.8, 1.0001)
Band = Literal["warm", "neutral", "curt", "critical", "hostile"]
INTENTS = ("greeting", "small_talk", "question", "follow_up", "critique", "reassurance", "closing", "answer",
           "instruction", "encouragement")
Intent = Literal["greeting", "small_talk", "question", "follow_up", "critique", "reassurance", "closing", "answer",
                 "instruction", "encouragement"]
LINE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def band_for(intensity: float) -> str:
    """The band a dialogue intensity (0-1) speaks in."""
    for name, upper in zip(BANDS, BAND_UPPER):
        if intensity < upper:
            return name
    return BANDS[-1]


class RoleConfig(Model):
    """Who speaks: a role in the scene (an interviewer, a passenger, the companion)."""

    description: str = param(..., "One sentence: who this is, for the people who write and vet lines.",
                             min_length=3, max_length=300)


class LineConfig(Model):
    """One vetted line."""

    id: str = param(..., "Stable id, dotted lower case (e.g. 'interview.greet.warm.1'); records cite it.",
                    min_length=3, max_length=80)
    role: str = param(..., "The role that says it (one of the bank's roles).")
    text: str = param(..., "Exactly what is said. Plain sentences; no stage directions.", min_length=2, max_length=240)
    band: Band = param(..., "Intensity band: warm, neutral, curt, critical or hostile.")
    intents: tuple[Intent, ...] = param(..., "What the line does: greeting, small_talk, question, follow_up, critique, "
                                             "reassurance, closing, answer, instruction, encouragement.", min_length=1)
    answers: tuple[str, ...] = param((), "Examples of what a patient might say that this line answers well "
                                         "(the retriever matches the patient's words against these).",
                                     max_length=20)
    follow_ups: tuple[str, ...] = param((), "Ids of lines that may come next from the same speaker.", max_length=10)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not LINE_ID.match(value):
            raise ValueError("ids are dotted lower-case words, e.g. 'lift.greet.warm.1'")
        return value

    @field_validator("answers")
    @classmethod
    def _answers_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cue in value:
            if not 2 <= len(cue) <= 200:
                raise ValueError("each example answer is 2-200 characters")
        return value


class LineBankConfig(Model):
    """A scene's (or the companion's) vetted lines."""

    schema_version: Literal[1] = param(1, "File format version.")
    kind: Literal["lines"] = param("lines", "Marks the file as a line bank.")
    name: str = param(..., "The bank's name: the scene it serves, or 'companion'.", min_length=2, max_length=60)
    vetted_by: str = param(..., "Who reviewed the lines for clinical use (a role or initials, not a patient).",
                           min_length=2, max_length=120)
    roles: dict[str, RoleConfig] = param(..., "The speaking roles.", min_length=1)
    default_role: str = param(..., "The role a virtual human of this scene speaks in unless told otherwise.")
    lines: tuple[LineConfig, ...] = Field(..., description="The lines.", min_length=1)

    @model_validator(mode="after")
    def _references(self) -> "LineBankConfig":
        ids = [line.id for line in self.lines]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise ValueError(f"line id {i!r} is used twice; ids must be unique")
            seen.add(i)
        if self.default_role not in self.roles:
            raise ValueError(f"default_role {self.default_role!r} is not one of the roles ({', '.join(self.roles)})")
        for line in self.lines:
            if line.role not in self.roles:
                raise ValueError(f"line {line.id!r}: role {line.role!r} is not one of the roles "
                                 f"({', '.join(self.roles)})")
            for f in line.follow_ups:
                if f not in seen:
                    raise ValueError(f"line {line.id!r}: follow-up {f!r} is not a line of this bank")
        return self
