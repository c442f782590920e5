"""Interaction profiles the test runtime knows, and how their inputs map to :class:`ControllerState`.

A binding path is ``<top-level user path><component>``, e.g.
``/user/hand/left`` + ``/input/trigger/value``.  Component kinds: "bool",
"float", "vec2", "pose" and "haptic".
"""

from __future__ import annotations

from .records import ControllerState

HANDS = {"/user/hand/left": "left", "/user/hand/right": "right"}
TOP_LEVEL_PATHS = ("/user/hand/left", "/user/hand/right", "/user/head", "/user/gamepad", "/user/treadmill")

_POSES = ("/input/grip/pose", "/input/aim/pose", "/output/haptic")


def _stick(name: str, *, click: bool = True, touch: bool = True, force: bool = False) -> tuple[str, ...]:
    parts = [f"/input/{name}", f"/input/{name}/x", f"/input/{name}/y"]
    parts += [f"/input/{name}/click"] if click else []
    parts += [f"/input/{name}/touch"] if touch else []
    parts += [f"/input/{name}/force"] if force else []
    return tuple(parts)


def _analog(name: str, *suffixes: str) -> tuple[str, ...]:
    return (f"/input/{name}",) + tuple(f"/input/{name}/{suffix}" for suffix in suffixes)


_TOUCH_COMMON = _analog("squeeze", "value") + _analog("trigger", "value", "touch") + _stick("thumbstick")
PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "/interaction_profiles/khr/simple_controller": {
        hand: ("/input/select/click", "/input/menu/click") + _POSES for hand in ("left", "right")
    },
    "/interaction_profiles/oculus/touch_controller": {
        "left": ("/input/x/click", "/input/x/touch", "/input/y/click", "/input/y/touch", "/input/menu/click")
        + _TOUCH_COMMON
        + ("/input/thumbrest/touch",)
        + _POSES,
        "right": ("/input/a/click", "/input/a/touch", "/input/b/click", "/input/b/touch", "/input/system/click")
        + _TOUCH_COMMON
        + ("/input/thumbrest/touch",)
        + _POSES,
    },
    "/interaction_profiles/valve/index_controller": {
        hand: ("/input/system/click", "/input/system/touch", "/input/a/click", "/input/a/touch")
        + ("/input/b/click", "/input/b/touch")
        + _analog("squeeze", "value", "force")
        + _analog("trigger", "click", "value", "touch")
        + _stick("thumbstick")
        + _stick("trackpad", click=False, force=True)
        + _POSES
        for hand in ("left", "right")
    },
    "/interaction_profiles/htc/vive_controller": {
        hand: ("/input/system/click", "/input/menu/click")
        + _analog("squeeze", "click")
        + _analog("trigger", "click", "value")
        + _stick("trackpad")
        + _POSES
        for hand in ("left", "right")
    },
    "/interaction_profiles/microsoft/motion_controller": {
        hand: ("/input/menu/click",)
        + _analog("squeeze", "click")
        + _analog("trigger", "value")
        + _stick("thumbstick", touch=False)
        + _stick("trackpad")
        + _POSES
        for hand in ("left", "right")
    },
}

_SELECT = {"/input/a/click", "/input/x/click", "/input/select/click", "/input/trackpad/click",
           "/input/thumbstick/click"}
_SELECT_TOUCH = {"/input/a/touch", "/input/x/touch"}


def split_binding(path: str) -> tuple[str, str] | None:
    """(hand, component) for a hand binding path, else ``None``."""
    for prefix, hand in HANDS.items():
        if path.startswith(prefix + "/"):
            return hand, path[len(prefix):]
    return None


def component_kind(component: str) -> str:
    """The value kind a component produces: bool, float, vec2, pose or haptic."""
    if component.endswith("/pose"):
        return "pose"
    if component == "/output/haptic":
        return "haptic"
    if component in ("/input/thumbstick", "/input/trackpad"):
        return "vec2"
    if component.endswith(("/click", "/touch")):
        return "bool"
    return "float"


def read_component(state: ControllerState, component: str) -> bool | float | tuple[float, float]:
    """Current value of ``component`` on a controller (see :func:`component_kind` for the type)."""
    stick = state.thumbstick
    if component.startswith("/input/trigger"):
        value = float(state.trigger)
        return _scalar(component, value)
    if component.startswith("/input/squeeze"):
        return _scalar(component, float(state.squeeze))
    if component in ("/input/thumbstick", "/input/trackpad"):
        return (float(stick[0]), float(stick[1]))
    if component.endswith(("stick/x", "pad/x")):
        return float(stick[0])
    if component.endswith(("stick/y", "pad/y")):
        return float(stick[1])
    if component in _SELECT:
        return bool(state.select)
    if component in _SELECT_TOUCH:
        return bool(state.select)
    if component in ("/input/thumbstick/touch", "/input/trackpad/touch"):
        return bool(state.select) or stick != (0.0, 0.0)
    if component == "/input/trackpad/force":
        return 1.0 if state.select else 0.0
    if component == "/input/menu/click":
        return bool(state.menu)
    return False if component_kind(component) == "bool" else 0.0


def _scalar(component: str, value: float) -> bool | float:
    if component.endswith("/click"):
        return value > 0.5
    if component.endswith("/touch"):
        return value > 0.0
    return value
