"""Load and check profiles and scenes: YAML -> validated frozen models, or every problem at once."""

from __future__ import annotations

import difflib
import hashlib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from vr.config.checks import avatar_file, check_avatars, check_distraction, check_profile, check_scene
from vr.config.errors import ConfigError, Problem
from vr.config.distraction import DistractionProfileConfig
from vr.config.lines import LineBankConfig
from vr.config.profile import ProfileConfig
from vr.config.scene import SceneConfig
from vr.config.yamlsrc import Source, read_yaml

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def default_scene_dirs(near: Path | None = None) -> list[Path]:
    """Where scene files are looked for: beside the profile's folder, then the project's own."""
    dirs = []
    if near is not None:
        dirs.append(near.resolve().parent.parent / "scenes")
    dirs.append(PACKAGE_ROOT / "scenes")
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def _type_words(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a text"
    if isinstance(value, tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """The model class reached through Optional / tuple[...] / unions, if any."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            if arg is not type(None) and arg is not Ellipsis:
                found = _unwrap(arg)
                if found is not None:
                    return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _data_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _named_key(src: Source, loc: tuple[Any, ...], message: str) -> tuple[Any, ...]:
    """For a rule about a whole mapping, the key it names that was written last (the one that clashes)."""
    data = _data_at(src.data, loc)
    if not isinstance(data, dict):
        return loc
    named = [loc + (k,) for k in data if re.search(rf"\b{re.escape(k)}\b", message)]
    return max(named, key=src.where) if named else loc


def _render(text: str, ctx: dict[str, Any]) -> str:
    """Fill in a custom error's ``{value!r}``-style fields, which pydantic leaves as written."""
    try:
        return text.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return text


def _problem_from_error(src: Source, root: type[BaseModel], err: Any) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind, ctx, value = err["type"], err.get("ctx", {}) or {}, err.get("input")
    name = _dotted(loc)
    fix = ""
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        message = f"{name}: unknown key {loc[-1]!r}"
        fix = (f"did you mean {close[0]!r}?" if close else "remove it") + (
            f" (allowed here: {', '.join(allowed)})" if allowed else "")
    elif kind == "missing" and isinstance(loc[-1], int):
        return src.problem(loc[:-1], f"{_dotted(loc[:-1])}: value number {loc[-1] + 1} is missing",
                           "give every number, e.g. [x, y] for a floor point or [x, y, z] for a size")
    elif kind == "missing":
        message = (f"{_dotted(loc[:-1])}: " if len(loc) > 1 else "") + f"required key {loc[-1]!r} is missing"
        model = _model_at(root, loc[:-1])
        desc = model.model_fields[loc[-1]].description if model and loc[-1] in model.model_fields else ""
        fix = f"add '{loc[-1]}: ...'" + (f" ({desc})" if desc else "")
        return src.problem(loc[:-1], message, fix)
    elif kind in ("float_type", "float_parsing", "int_type", "int_from_float", "int_parsing"):
        whole = kind.startswith("int")
        message = f"{name}: expected {'a whole number' if whole else 'a number'}, got {_type_words(value)}"
        fix = "write a plain number without quotes or units (the unit is in the key's name)"
        if isinstance(value, bool):
            fix = "write a plain number (yes, no, on and off are read as true/false)"
    elif kind in ("string_type",):
        message = f"{name}: expected text, got {_type_words(value)}"
        fix = "quote it if it should be text"
    elif kind in ("bool_type", "bool_parsing"):
        message = f"{name}: expected true or false, got {_type_words(value)}"
        fix = "write true or false"
    elif kind in ("tuple_type", "list_type"):
        message = f"{name}: expected a list, got {_type_words(value)}"
        fix = "write a list such as [1.0, 2.0] or one '- item' per line"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"{name}: expected a mapping of 'key: value' lines, got {_type_words(value)}"
        fix = "indent the keys under this one"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        low = kind.startswith("greater")
        message = f"{name}: {value!r} is {'below the smallest' if low else 'above the largest'} allowed value {bound}"
        model = _model_at(root, loc[:-1])
        rng = ""
        if model is not None and isinstance(loc[-1], str) and loc[-1] in model.model_fields:
            meta = {type(m).__name__: m for m in model.model_fields[loc[-1]].metadata}
            lo = getattr(meta.get("Ge"), "ge", None)
            hi = getattr(meta.get("Le"), "le", None)
            if lo is not None and hi is not None:
                rng = f"use a value from {lo} to {hi}"
        fix = rng or f"use a value {'at least' if low else 'at most'} {bound}"
    elif kind == "finite_number":
        message = f"{name}: {value!r} is not a finite number"
        fix = "write an ordinary number"
    elif kind == "literal_error" and loc == ("schema_version",):
        message = f"schema_version {value!r} is not supported (this toolkit reads {ctx.get('expected')})"
        fix = f"write schema_version: {ctx.get('expected')}, or use the toolkit version the file was written for"
    elif kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        message = f"{name}: {value!r} is not an allowed value"
        fix = (f"did you mean {close[0]!r}? " if close else "") + f"use one of {expected}"
    elif kind == "too_short":
        n = ctx.get("min_length")
        message = f"{name}: needs at least {n} {'entry' if n == 1 else 'entries'}, has {ctx.get('actual_length')}"
        fix = "add entries"
    elif kind == "too_long":
        message = f"{name}: has {ctx.get('actual_length')} entries, more than the {ctx.get('max_length')} allowed"
        fix = "remove entries"
    elif kind == "string_too_short":
        message = f"{name}: the text is empty"
        fix = "fill in the text"
    elif kind == "string_too_long":
        message = f"{name}: the text is longer than {ctx.get('max_length')} characters"
        fix = "shorten it"
    elif kind == "string_pattern_mismatch":
        message = f"{name}: {value!r} is not a valid name"
        fix = "use lower-case letters, digits and underscores, e.g. calm_room"
    else:
        text = _render(err["msg"], ctx)
        if "; " in text:
            text, fix = text.split("; ", 1)
        message = f"{name}: {text}"
        return src.problem(_named_key(src, loc, text), message, fix)
    if value is None and kind not in ("missing", "extra_forbidden"):
        fix = "write a value after the colon, or remove the key"
    return src.problem(loc, message, fix)


def _validate(src: Source, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(src.data)
    except ValidationError as e:
        errors = e.errors()
        # A list whose items failed is also reported as "too short" (it counts valid items); the
        # item errors already say what is wrong, so that echo is dropped.
        deeper = {tuple(err["loc"][:i]) for err in errors for i in range(len(err["loc"]))}
        errors = [err for err in errors if not (err["type"] == "too_short" and tuple(err["loc"]) in deeper)]
        raise ConfigError([_problem_from_error(src, model, err) for err in errors]) from None


@dataclass(frozen=True)
class LoadedScene:
    """A validated scene and where it came from."""

    config: SceneConfig
    path: Path
    sha256: str

    @property
    def avatar_files(self) -> dict[str, Path]:
        """Spawn id -> the avatar file drawn there, for the spawns that name one (see ``SpawnConfig.avatar``)."""
        return {s.id: avatar_file(self.path, s.avatar) for s in self.config.spawns if s.avatar is not None}


@dataclass(frozen=True)
class LoadedProfile:
    """A validated profile with its scene and safe scene resolved and cross-checked."""

    config: ProfileConfig | DistractionProfileConfig
    path: Path
    sha256: str
    scene: LoadedScene
    safe_scene: LoadedScene

    @property
    def distraction(self) -> bool:
        return isinstance(self.config, DistractionProfileConfig)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_scene(path: str | Path, *, avatars: bool = True) -> LoadedScene:
    """Validate one scene file; raises ``ConfigError`` with every problem. ``avatars=False`` leaves
    the avatar files a scene names unread (a record's copy of a scene, whose files stayed behind)."""
    path = Path(path)
    src = read_yaml(path)
    config: SceneConfig = _validate(src, SceneConfig)
    problems = check_scene(config, src) + (check_avatars(config, src) if avatars else [])
    if problems:
        raise ConfigError(problems)
    return LoadedScene(config, path, _sha(path))


def find_scene(name: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        candidate = d / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def load_profile(path: str | Path, scene_dirs: list[Path] | None = None, *, avatars: bool = True) -> LoadedProfile:
    """Validate a profile and the scenes it names; raises ``ConfigError`` with every problem.
    ``avatars=False``: see ``load_scene``."""
    path = Path(path)
    src = read_yaml(path)
    distraction = isinstance(src.data, dict) and src.data.get("kind") == "distraction"
    config = _validate(src, DistractionProfileConfig if distraction else ProfileConfig)
    dirs = scene_dirs if scene_dirs is not None else default_scene_dirs(path)
    problems: list[Problem] = []
    scenes: dict[str, LoadedScene] = {}
    for key, name in (("scene", config.scene), ("safe_scene", config.safety.safe_scene)):
        where = ("scene",) if key == "scene" else ("safety", "safe_scene")
        found = find_scene(name, dirs)
        if found is None:
            available = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})
            close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
            problems.append(src.problem(where, f"{key} {name!r} not found in {', '.join(str(d) for d in dirs)}",
                                        (f"did you mean {close[0]!r}? " if close else "")
                                        + f"available: {', '.join(available) or 'none'}"))
            continue
        try:
            scenes[key] = load_scene(found, avatars=avatars)
        except ConfigError as e:
            problems.append(src.problem(where, f"{key} {name!r} has problems (listed below)", f"fix {found}"))
            problems.extend(e.problems)
    if problems:
        raise ConfigError(problems)
    if distraction:
        problems = check_distraction(config, src, scenes["scene"].config, scenes["safe_scene"].config)
    else:
        problems = check_profile(config, src, scenes["scene"].config, scenes["safe_scene"].config)
    if problems:
        raise ConfigError(problems)
    return LoadedProfile(config, path, _sha(path), scenes["scene"], scenes["safe_scene"])


@dataclass(frozen=True)
class LoadedLines:
    """A validated line bank and where it came from."""

    config: LineBankConfig
    path: Path
    sha256: str


def load_lines(path: str | Path) -> LoadedLines:
    """Validate one line bank; raises ``ConfigError`` with every problem."""
    path = Path(path)
    src = read_yaml(path)
    config: LineBankConfig = _validate(src, LineBankConfig)
    return LoadedLines(config, path, _sha(path))


def detect_kind(src: Source) -> str | None:
    """'profile', 'scene' or 'lines' from a file's top-level keys, or None when it is neither."""
    data = src.data if isinstance(src.data, dict) else {}
    if data.get("kind") == "lines":
        return "lines"
    if "room" in data or "landscape" in data:
        return "scene"
    if {"steps", "scene", "safety", "phases"} & set(data) or data.get("kind") in ("exposure", "distraction"):
        return "profile"
    if data.get("kind") in ("social", "safe"):
        return "scene"
    return None


def validate_file(path: str | Path, scene_dirs: list[Path] | None = None) -> str:
    """Check one profile, scene or line bank; returns its kind or raises ``ConfigError``."""
    src = read_yaml(path)
    kind = detect_kind(src)
    if kind == "profile":
        load_profile(path, scene_dirs)
    elif kind == "scene":
        load_scene(path)
    elif kind == "lines":
        load_lines(path)
    else:
        raise ConfigError([Problem(str(path), 1, 1, "neither a profile (no 'steps:') nor a scene (no 'room:')",
                                   "start from an example in exposure_profiles/ or scenes/")])
    return kind

