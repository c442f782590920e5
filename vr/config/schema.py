"""JSON Schema (for editors) and the parameter reference (docs/profiles.md), from the models."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from vr.config.load import _unwrap
from vr.config.profile import MOOD_NAMES, MoodSpec, ProfileConfig
from vr.config.distraction import DistractionProfileConfig
from vr.config.lines import LineBankConfig
from vr.config.physiology import GUIDE as BODY_GUIDE
from vr.config.scene import SceneConfig
from vr.config.yamlsrc import MAX_DEPTH, MAX_NODES

MODELS: dict[str, type[BaseModel]] = {"profile": ProfileConfig, "scene": SceneConfig,
                                      "distraction": DistractionProfileConfig, "lines": LineBankConfig}

_MOOD_SCHEMA = {
    "description": "one mood for every human, or {mixed: {mood: share}} with shares adding up to 1",
    "anyOf": [
        {"type": "string", "enum": list(MOOD_NAMES)},
        {"type": "object", "additionalProperties": False, "required": ["mixed"],
         "properties": {"mixed": {"type": "object", "additionalProperties": False,
                                  "properties": {m: {"type": "number", "minimum": 0, "maximum": 1}
                                                 for m in MOOD_NAMES}}}},
    ],
}


def _patch(node: Any) -> Any:
    """Replace internal shapes with what a clinician writes (mood, advance_when: clinician)."""
    if isinstance(node, dict):
        if node.get("title") == "MoodSpec":
            return dict(_MOOD_SCHEMA, title="Mood")
        out = {k: _patch(v) for k, v in node.items()}
        if out.get("title") == "AdvanceConfig" and "properties" in out:
            return {"title": "AdvanceConfig", "description": out.get("description", ""),
                    "anyOf": [{"const": "clinician"}, {k: v for k, v in out.items() if k != "title"}]}
        return out
    if isinstance(node, list):
        return [_patch(v) for v in node]
    return node


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for a profile or a scene file."""
    schema = MODELS[kind].model_json_schema(mode="validation")
    schema = _patch(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, sort_keys=False) + "\n"


def _range(info: FieldInfo) -> str:
    lo = hi = None
    for m in info.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    if lo is None and hi is None:
        return ""
    return f"{'' if lo is None else lo} to {'' if hi is None else hi}".strip()


def _default(info: FieldInfo) -> str:
    if info.default is PydanticUndefined:
        return "required"
    value = info.default
    if isinstance(value, MoodSpec):
        return f"`{value.to_yaml()}`"
    if isinstance(value, BaseModel):
        return "(see below)"
    if value is None:
        return "from intensity" if "intensity" in (info.description or "") else "none"
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return "(see below)"
    return f"`{json.dumps(value)}`"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(annotation))
    if origin in (typing.Union,) or type(annotation).__name__ == "UnionType":
        return " or ".join(_type_name(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_name(args[0])}"
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if isinstance(annotation, type):
        return {"float": "number", "int": "whole number", "str": "text", "bool": "true/false"}.get(
            annotation.__name__, annotation.__name__.replace("Config", "").replace("Spec", ""))
    return str(annotation)


def markdown_reference() -> str:
    """Every parameter of profiles and scenes: key, type, range, default, meaning, evidence."""
    lines = [
        "# Profile and scene reference",
        "",
        "Generated from the models in `vr/config` by `vr schema --markdown`; do not edit by hand.",
        "Units are in the key names (`_m` metres, `_s` seconds, `_mps` metres per second, `_deg` degrees).",
        "Unknown keys are errors. Where a default says *from intensity*, the step's `intensity` knob sets it",
        "(the mapping is in `vr/sim/params.py` and in each meaning below).",
        "Numbers may be written `4`, `4.0`, `4e0` or `1.5e-3` (an exponent without a dot is a number too, so its",
        "range applies); `.nan` and `.inf` are refused. Names hold one line of plain text, and no text holds",
        f"control characters or escape sequences. A file nests at most {MAX_DEPTH} levels and holds at most "
        f"{MAX_NODES:,} values.".replace(",", " "),
        "",
    ]
    done: set[str] = set()

    def section(title: str, model: type[BaseModel], prefix: str) -> None:
        if model.__name__ in done:
            return
        done.add(model.__name__)
        lines.extend([f"## {title}", "", (model.__doc__ or "").strip().splitlines()[0], "",
                      "| key | type | range | default | meaning | evidence |",
                      "|---|---|---|---|---|---|"])
        nested = []
        for name, info in model.model_fields.items():
            evidence = (info.json_schema_extra or {}).get("x-evidence", "") if isinstance(
                info.json_schema_extra, dict) else ""
            lines.append(f"| `{prefix}{name}` | {_type_name(info.annotation)} | {_range(info)} | "
                         f"{_default(info)} | {info.description or ''} | {evidence} |")
            sub = _unwrap(info.annotation)
            if sub is not None and sub is not MoodSpec:
                nested.append((f"`{prefix}{name}`", sub, f"{prefix}{name}."))
        lines.append("")
        for sub_title, sub, sub_prefix in nested:
            section(sub_title, sub, sub_prefix)

    section("Exposure profile (`exposure_profiles/*.yaml`)", ProfileConfig, "")
    section("Distraction profile (`exposure_profiles/*.yaml` with `kind: distraction`)", DistractionProfileConfig, "")
    section("Scene (`scenes/*.yaml`)", SceneConfig, "")
    section("Line bank (`dialogue/*.yaml`)", LineBankConfig, "")
    lines.append(BODY_GUIDE)
    return "\n".join(lines).rstrip() + "\n"
