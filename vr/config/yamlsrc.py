"""Read a clinician's YAML file into plain data, remembering where every value stood.

Only plain YAML is accepted: mappings with string keys, sequences, strings, numbers, booleans
and null. Nothing can construct an object (``!!python/...`` and every other explicit tag are
refused), anchors and aliases are refused (a profile must read top to bottom as it runs, and
this closes the alias-expansion "bomb"), duplicate keys are refused (plain PyYAML silently keeps
the last one). Sequences become tuples so that the validated models stay immutable.

A hostile file costs little: its size, its number of values and its depth are checked on the
parser's event stream before anything is composed (PyYAML composes recursively, and its
scanner slows with every bracket left open: 100 000 nested ``[`` took minutes), so reading
stops at the first value past a limit. Text holding control characters or escape sequences is
refused (they would act on the terminal a name is printed on). Numbers in exponent form without
a dot (``1e3``, ``1e308``), which YAML 1.1 reads as text, are read as numbers, so the range
checks apply to them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vr.config.errors import ConfigError, Problem
from vr.config.text import control_character

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 40            # mappings and lists open at once; a profile needs about five
ONE_LINE_KEYS = ("name",)  # titles shown on one line: no tab or line break either

Path_ = tuple[str | int, ...]

_PLAIN_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STD = "tag:yaml.org,2002:"
_UNCLOSED = {"flow mapping": "'{'", "flow sequence": "'['", "quoted scalar": "quote"}
# A number in exponent form that YAML 1.1 leaves as text: no dot ('1e308') or an unsigned exponent ('2.5e3').
_EXPONENT_NUMBER = re.compile(r"[-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+")


@dataclass
class Source:
    """Parsed YAML plus the line and column (1-based) of each value and each mapping key."""

    file: str
    data: Any
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[int, int]:
        """Best known position for ``path``: its key, its value, or the nearest parent."""
        p = tuple(path)
        while True:
            if p in self.key_marks:
                return self.key_marks[p]
            if p in self.value_marks:
                return self.value_marks[p]
            if not p:
                return (1, 1)
            p = p[:-1]

    def problem(self, path: Path_, message: str, fix: str = "") -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, message, fix)


class _TooDeep(yaml.YAMLError):
    """Raised by the scanner at the first bracket that opens one level too many."""

    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("nested too deep")
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, whose scanner stops at the first bracket past ``MAX_DEPTH``.

    (Each bracket left open makes PyYAML's scanner slower: it looks ahead up to 1024 characters
    for a possible key at every level. The event check below would stop such a file too, but
    only after that look-ahead; this stops it before.)"""

    def fetch_flow_collection_start(self, TokenClass) -> None:  # noqa: N803 - PyYAML's name
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)


def _mark(node: yaml.Node | yaml.Event) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def dotted(path: Path_) -> str:
    """``steps[1].proximity.distance_m``: a key path as the error messages write it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _yaml_problem(file: str, err: yaml.YAMLError, text: str) -> Problem:
    if isinstance(err, yaml.reader.ReaderError):  # a character YAML never allows, e.g. a raw escape byte
        line = text.count("\n", 0, err.position) + 1
        col = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return Problem(file, line, col, f"character {chr(err.character)!r} is not allowed in a YAML file",
                       "remove it; control characters and escape sequences have no place in a profile")
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    what = getattr(err, "problem", None) or str(err)
    ctx = getattr(err, "context", None)
    message = f"YAML syntax error: {what}" + (f" ({ctx})" if ctx else "")
    fix = "check the indentation and quoting on this line and the one above"
    opened = getattr(err, "context_mark", None)
    if ("stream end" in what or "end of stream" in what) and opened is not None:
        # A cut-off file: point at the bracket or quote that is never closed, not past the last line.
        mark = opened
        thing = next((v for k, v in _UNCLOSED.items() if k in (ctx or "")), "structure")
        message = f"YAML syntax error: the file ends before the {thing} opened here is closed"
        fix = "the file looks cut off: close it, or restore the rest of the file"
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    if "\\t" in message or "'\\t'" in message or "tab" in message:
        fix = "indent with spaces, never tabs"
    return Problem(file, line, col, message, fix)


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.src = Source(file, None)
        self.problems: list[Problem] = []
        self.scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str, fix: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, message, fix))

    def fail_tag(self, node: yaml.Node) -> None:
        """Refuse a tag; a Python tag is named as such (it is never constructed, let alone run)."""
        tag = "!!" + node.tag[len(_STD):] if node.tag.startswith(_STD) else node.tag
        if tag.startswith("!!python/"):
            self.fail(node, f"Python object tag {tag!r} is refused and never executed",
                      "remove the tag; profiles hold plain values only")
        elif tag == "!!timestamp" and isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{node.value!r} reads as a date or time, which no setting takes",
                      "put it in quotes if it is text")
        else:
            self.fail(node, f"unsupported tag {tag!r}",
                      "remove the tag; write a plain number, word, true/false, list or mapping")

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        """Plain data for ``node`` (depth and size were checked on the event stream already)."""
        self.src.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.fail_tag(node)
                return None
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.fail(key_node, "merge keys ('<<') are not supported", "write the keys out in full")
                    continue
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                    shown = f", not {key_node.value!r}" if isinstance(key_node, yaml.ScalarNode) else ""
                    self.fail(key_node, f"a key must be a plain word{shown}",
                              "use a name such as 'distance_m' as the key")
                    continue
                key = key_node.value
                if not self.plain_text(key_node, key, path + (key,), one_line=True, what="key"):
                    continue
                if key in out:
                    first = self.src.key_marks.get(path + (key,), (0, 0))
                    self.fail(key_node, f"duplicate key {key!r} (first given at line {first[0]})",
                              "keep one of them; YAML would silently use the last")
                    continue
                self.src.key_marks[path + (key,)] = _mark(key_node)
                out[key] = self.convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.fail_tag(node)
                return None
            return tuple(self.convert(v, path + (i,)) for i, v in enumerate(node.value))
        if node.tag not in _PLAIN_SCALAR_TAGS:
            self.fail_tag(node)
            return None
        if node.tag == "tag:yaml.org,2002:str" and node.style is None and _EXPONENT_NUMBER.fullmatch(node.value):
            value: Any = float(node.value.replace("_", ""))
        else:
            value = self.scalars.construct_object(node)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(node, f"{dotted(path)}: {node.value!r} is not a finite number",
                      "write an ordinary number within the key's range")
            return None
        if isinstance(value, str) and not self.plain_text(node, value, path, one_line=bool(path) and
                                                          path[-1] in ONE_LINE_KEYS):
            return None
        return value

    def plain_text(self, node: yaml.Node, text: str, path: Path_, *, one_line: bool, what: str = "text") -> bool:
        """Refuse text holding a control character (an escape sequence acts on the terminal it is printed on)."""
        found = control_character(text, one_line=one_line)
        if found is None:
            return True
        index, ch = found
        kind = "a line break or tab" if ch in "\t\n" else "a control character"
        self.fail(node, f"{dotted(path)}: the {what} holds {kind} ({ch!r}, character {index + 1})",
                  "remove it; " + ("a name is one line of plain text" if ch in "\t\n" else
                                   "write plain text (escape sequences would act on the screen it is shown on)"))
        return False


def _check_events(file: str, text: str) -> list[Problem]:
    """One cheap pass over the parser's events before anything is composed.

    Refuses anchors and aliases (so an alias bomb never expands), and stops at the first
    collection nested deeper than ``MAX_DEPTH`` or value past ``MAX_NODES``: the composer and the
    converter only ever see a small, shallow tree, and a hostile file is turned away early
    whatever its length."""
    problems: list[Problem] = []
    depth = 0
    nodes = 0
    too_deep = f"nested more than {MAX_DEPTH} levels deep"
    flatten = "flatten the structure: a profile or scene is a few levels deep"
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.NodeEvent):  # a scalar, an alias, or the start of a mapping or list
                nodes += 1
                if nodes > MAX_NODES:
                    raise ConfigError([Problem(file, *_mark(event), f"file has more than {MAX_NODES} values",
                                               "split it or remove generated content")])
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problems.append(Problem(file, *_mark(event), too_deep, flatten))
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                problems.append(Problem(file, *_mark(event), "anchors and aliases ('&name', '*name') are not supported",
                                        "write the values out in full so the file reads as it runs"))
                if len(problems) >= 5:
                    break
    except _TooDeep as e:
        problems.append(Problem(file, e.mark.line + 1, e.mark.column + 1, too_deep, flatten))
    return problems


def read_yaml(path: str | Path, *, display: str | None = None) -> Source:
    """Parse ``path`` as plain YAML; raise ``ConfigError`` naming file, line and fix."""
    file = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(file, 0, 0, "file not found", "check the path")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(file, 0, 0, "is a directory, not a file", "name a .yaml file")]) from None
    except OSError as e:
        raise ConfigError([Problem(file, 0, 0, f"cannot read: {e.strerror}", "check permissions")]) from None
    return parse_yaml_bytes(raw, file)


def parse_yaml_bytes(raw: bytes, file: str) -> Source:
    """Parse YAML given as bytes (see ``read_yaml``)."""
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([Problem(file, 0, 0, f"file is {len(raw)} bytes, over the {MAX_FILE_BYTES} limit",
                                   "a profile or scene is a few kilobytes; is this the right file?")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError([Problem(file, line, col, f"byte 0x{raw[e.start]:02x} is not valid UTF-8 text",
                                   "save the file as UTF-8")]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError([Problem(file, line, 1, "file contains a NUL byte", "save it as plain UTF-8 text")])
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        what = "file is empty" if not text.strip() else "file has only comments and blank lines"
        raise ConfigError([Problem(file, 1, 1, what, "start from an example in exposure_profiles/ or scenes/")])
    try:
        problems = _check_events(file, text)
        if problems:
            raise ConfigError(problems)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ConfigError([_yaml_problem(file, e, text)]) from None
    conv = _Converter(file)
    data = conv.convert(node, ()) if node is not None else None
    if conv.problems:
        raise ConfigError(conv.problems)
    if not isinstance(data, dict):
        line, col = _mark(node) if node is not None else (1, 1)
        raise ConfigError([Problem(file, line, col, "the file must be a mapping of 'key: value' lines at the top level",
                                   "start from an example in exposure_profiles/ or scenes/")])
    conv.src.data = data
    return conv.src
