"""Shared building blocks for the YAML models: one way to declare a documented parameter.

Every parameter carries its unit in its name, a range, a default, a one-line meaning and,
where one exists, the evidence behind the default. ``param`` puts all of that into the
pydantic field so that the JSON Schema and ``docs/profiles.md`` are generated from one source.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base of every YAML-facing model: immutable, strict types, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


def param(default: Any, meaning: str, *, ge: float | None = None, le: float | None = None,
          evidence: str | None = None, **kw: Any) -> Any:
    """A documented field. ``meaning`` is one line; ``evidence`` cites where the default comes from."""
    extra: dict[str, Any] = {}
    if evidence:
        extra["x-evidence"] = evidence
    return Field(default, description=meaning, ge=ge, le=le,
                 json_schema_extra=extra or None, **kw)


RGB = tuple[float, float, float]
