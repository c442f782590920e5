"""Paths, action sets, actions and interaction-profile bindings.

The physical controllers use ``runtime.interaction_profile``; it is bound only
if the application suggested bindings for exactly that profile, otherwise
every action stays inactive and xrGetCurrentInteractionProfile reports
XR_NULL_PATH.  Suggested bindings are checked against the profile's inputs
(``profiles.py``) and recorded in ``runtime.suggested``.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Any

import xr

from . import profiles
from .common import Violation, decode, read_struct, write_string, write_u64, xr_function

ST = xr.StructureType
AT = xr.ActionType
_PATH = re.compile(r"^(/[a-z0-9_.\-]+)+$")
_NAME = re.compile(r"^[a-z0-9_.\-]+$")
MAX_PATH_LENGTH = 256  # XR_MAX_PATH_LENGTH, the terminating NUL included
_COMPATIBLE = {
    AT.BOOLEAN_INPUT: ("bool", "float"),
    AT.FLOAT_INPUT: ("bool", "float"),
    AT.VECTOR2F_INPUT: ("vec2",),
    AT.POSE_INPUT: ("pose",),
    AT.VIBRATION_OUTPUT: ("haptic",),
}
PATH_TO_STRING = ctypes.CFUNCTYPE(
    ctypes.c_int, xr.Instance, ctypes.c_uint64, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p
)


@dataclass
class ActionSetObject:
    """Runtime-side state of an XrActionSet; ``session`` is the session it is attached to (0 if none)."""

    handle: int
    instance: int
    name: str
    localized_name: str
    priority: int
    session: int = 0
    actions: list[int] = field(default_factory=list)


@dataclass
class ActionObject:
    """Runtime-side state of an XrAction."""

    handle: int
    action_set: int
    name: str
    localized_name: str
    action_type: AT
    subaction_paths: tuple[int, ...]


class ActionsMixin:
    """xrStringToPath .. xrStopHapticFeedback."""

    def _init_actions(self) -> None:
        self.suggested: dict[str, list[tuple[str, str]]] = {}
        self.haptics: list[tuple[str, int, float, float]] = []
        self.haptic_stops: list[str] = []
        self._paths: dict[str, int] = {}
        self._path_names: dict[int, str] = {}
        self._bindings: dict[str, list[tuple[int, str]]] = {}

    # ------------------------------------------------------------------- paths

    def _path_id(self, text: str) -> int:
        if text not in self._paths:
            self._paths[text] = len(self._paths) + 1
            self._path_names[self._paths[text]] = text
        return self._paths[text]

    def _path_name(self, path: int, what: str) -> str:
        if path not in self._path_names:
            raise Violation(xr.Result.ERROR_PATH_INVALID, f"{what}: {path} is not a path from xrStringToPath")
        return self._path_names[path]

    @xr_function("xrStringToPath")
    def _string_to_path(self, instance_handle: Any, text: bytes | None, path_out: Any) -> None:
        self._instance(instance_handle)
        value = (text or b"").decode(errors="replace")
        elements = value.split("/")[1:]
        if len(value) >= MAX_PATH_LENGTH:
            raise Violation(xr.Result.ERROR_PATH_FORMAT_INVALID, f"path of {len(value)} characters (max 255)")
        if not _PATH.match(value) or any(e in (".", "..") for e in elements):
            raise Violation(xr.Result.ERROR_PATH_FORMAT_INVALID, f"malformed path {value!r}")
        write_u64(path_out, self._path_id(value))

    @xr_function("xrPathToString", PATH_TO_STRING)
    def _path_to_string(self, instance_handle: Any, path: int, capacity: int, count_out: Any, buffer: int) -> int:
        self._instance(instance_handle)
        return write_string(buffer or 0, capacity, count_out, self._path_name(path, "xrPathToString"))

    # ----------------------------------------------------------------- objects

    def _action(self, handle: Any) -> ActionObject:
        return self._get(handle, ActionObject, "XrAction")

    def _check_subaction(self, action: ActionObject, path: int) -> None:
        if path and path not in action.subaction_paths:
            name = self._path_names.get(path, str(path))
            raise Violation(
                xr.Result.ERROR_PATH_UNSUPPORTED, f"subaction path {name} was not declared for {action.name!r}"
            )

    def _check_name(self, name: str, localized: str, what: str) -> None:
        if not _NAME.match(name):
            raise Violation(xr.Result.ERROR_NAME_INVALID, f"{what} name {name!r} is not well formed")
        if not localized:
            raise Violation(xr.Result.ERROR_LOCALIZED_NAME_INVALID, f"{what} {name!r} has no localized name")

    @xr_function("xrCreateActionSet")
    def _create_action_set(self, instance_handle: Any, create_info: Any, set_out: Any) -> None:
        instance = self._instance(instance_handle)
        info = read_struct(create_info, xr.ActionSetCreateInfo, ST.ACTION_SET_CREATE_INFO)
        name, localized = decode(info.action_set_name), decode(info.localized_action_set_name)
        self._check_name(name, localized, "action set")
        for other in self._objects.values():
            if isinstance(other, ActionSetObject) and other.instance == instance.handle:
                if other.name == name:
                    raise Violation(xr.Result.ERROR_NAME_DUPLICATED, f"action set {name!r} exists")
                if other.localized_name == localized:
                    raise Violation(xr.Result.ERROR_LOCALIZED_NAME_DUPLICATED, f"action set {localized!r} exists")
        action_set = ActionSetObject(0, instance.handle, name, localized, info.priority)
        write_u64(set_out, self._new_handle(action_set))

    @xr_function("xrDestroyActionSet")
    def _destroy_action_set(self, set_handle: Any) -> None:
        action_set = self._get(set_handle, ActionSetObject, "XrActionSet")
        for action in action_set.actions:
            self._objects.pop(action, None)
        del self._objects[action_set.handle]

    @xr_function("xrCreateAction")
    def _create_action(self, set_handle: Any, create_info: Any, action_out: Any) -> None:
        action_set = self._get(set_handle, ActionSetObject, "XrActionSet")
        info = read_struct(create_info, xr.ActionCreateInfo, ST.ACTION_CREATE_INFO)
        if action_set.session:
            raise Violation(xr.Result.ERROR_ACTIONSETS_ALREADY_ATTACHED, "xrCreateAction in an attached action set")
        name, localized = decode(info.action_name), decode(info.localized_action_name)
        self._check_name(name, localized, "action")
        for handle in action_set.actions:
            other = self._objects.get(handle)
            if other is not None and other.name == name:
                raise Violation(xr.Result.ERROR_NAME_DUPLICATED, f"action {name!r} exists in {action_set.name!r}")
        try:
            action_type = AT(info._action_type)
        except ValueError:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"action type {info._action_type}") from None
        paths = tuple(info._subaction_paths[i] for i in range(info.count_subaction_paths))
        if len(set(paths)) != len(paths):
            raise Violation(xr.Result.ERROR_PATH_UNSUPPORTED, f"action {name!r} lists a subaction path twice")
        for path in paths:
            if self._path_name(path, "subaction path") not in profiles.TOP_LEVEL_PATHS:
                raise Violation(xr.Result.ERROR_PATH_UNSUPPORTED, f"subaction path {self._path_names[path]!r}")
        action = ActionObject(0, action_set.handle, name, localized, action_type, paths)
        handle = self._new_handle(action)
        action_set.actions.append(handle)
        write_u64(action_out, handle)

    @xr_function("xrDestroyAction")
    def _destroy_action(self, action_handle: Any) -> None:
        action = self._action(action_handle)
        action_set = self._objects.get(action.action_set)
        if action_set is not None:
            action_set.actions.remove(action.handle)
        del self._objects[action.handle]

    def _destroy_action_objects(self, instance_handle: int) -> None:
        for handle, obj in list(self._objects.items()):
            if isinstance(obj, ActionSetObject) and obj.instance == instance_handle:
                for action in obj.actions:
                    self._objects.pop(action, None)
                del self._objects[handle]

    # ---------------------------------------------------------------- bindings

    @xr_function("xrSuggestInteractionProfileBindings")
    def _suggest_bindings(self, instance_handle: Any, suggested: Any) -> None:
        instance = self._instance(instance_handle)
        info = read_struct(suggested, xr.InteractionProfileSuggestedBinding, ST.INTERACTION_PROFILE_SUGGESTED_BINDING)
        if any(self._objects[s].attached_sets for s in instance.sessions):
            raise Violation(xr.Result.ERROR_ACTIONSETS_ALREADY_ATTACHED, "bindings suggested after attaching")
        profile = self._path_name(info.interaction_profile, "interaction profile")
        if profile not in profiles.PROFILES:
            raise Violation(xr.Result.ERROR_PATH_UNSUPPORTED, f"unknown interaction profile {profile!r}")
        if not info.count_suggested_bindings or not info._suggested_bindings:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "no suggested bindings")
        bindings = []
        for i in range(info.count_suggested_bindings):
            entry = info._suggested_bindings[i]
            action = self._action(entry.action)
            path = self._path_name(entry.binding, "binding")
            split = profiles.split_binding(path)
            if split is None or split[1] not in profiles.PROFILES[profile][split[0]]:
                raise Violation(xr.Result.ERROR_PATH_UNSUPPORTED, f"{path} is not in {profile}")
            kind = profiles.component_kind(split[1])
            if kind not in _COMPATIBLE[action.action_type]:
                raise Violation(
                    xr.Result.ERROR_PATH_UNSUPPORTED, f"{action.action_type.name} action {action.name!r} on {path}"
                )
            bindings.append((action.handle, path))
        self._bindings[profile] = bindings
        self.suggested[profile] = [(self._objects[a].name, p) for a, p in bindings]

    @xr_function("xrAttachSessionActionSets")
    def _attach_action_sets(self, session_handle: Any, attach_info: Any) -> None:
        session = self._session(session_handle)
        info = read_struct(attach_info, xr.SessionActionSetsAttachInfo, ST.SESSION_ACTION_SETS_ATTACH_INFO)
        if session.attached_sets:
            raise Violation(xr.Result.ERROR_ACTIONSETS_ALREADY_ATTACHED, "xrAttachSessionActionSets called twice")
        if not info.count_action_sets or not info._action_sets:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "xrAttachSessionActionSets with no action sets")
        sets = [self._get(info._action_sets[i], ActionSetObject, "XrActionSet") for i in range(info.count_action_sets)]
        for action_set in sets:
            action_set.session = session.handle
        session.attached_sets = [s.handle for s in sets]
        self._update_profile(session)

    def _update_profile(self, session: Any) -> None:
        profile = self.interaction_profile if self.interaction_profile in self._bindings else None
        if profile != session.bound_profile:
            session.bound_profile = profile
            event = xr.EventDataInteractionProfileChanged()
            ctypes.c_void_p.from_buffer(event, type(event).session.offset).value = session.handle
            self._queue(event, session=session.handle)

    @xr_function("xrGetCurrentInteractionProfile")
    def _get_current_profile(self, session_handle: Any, top_level_path: int, profile_state: Any) -> None:
        session = self._session(session_handle)
        state = read_struct(profile_state, xr.InteractionProfileState, ST.INTERACTION_PROFILE_STATE)
        if not session.attached_sets:
            raise Violation(xr.Result.ERROR_ACTIONSET_NOT_ATTACHED, "no action sets attached yet")
        path = self._path_name(top_level_path, "top level path")
        if path not in profiles.TOP_LEVEL_PATHS:
            raise Violation(xr.Result.ERROR_PATH_UNSUPPORTED, f"{path} is not a top level user path")
        bound = session.bound_profile if path in profiles.HANDS else None
        state.interaction_profile = self._path_id(bound) if bound else 0
