"""Action state and haptics: xrSyncActions, xrGetActionState*, xrApplyHapticFeedback.

Action state is sampled from ``runtime.controllers`` at each xrSyncActions,
only while the runtime has the session FOCUSED; otherwise the call returns
XR_SESSION_NOT_FOCUSED and every action goes inactive.  A query without a
subaction path combines both hands (any pressed; the largest magnitude).
Haptic pulses on active bindings are recorded as
``runtime.haptics`` = [(hand, duration_ns, frequency_hz, amplitude)].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import xr

from . import profiles
from .actions import ActionObject, ActionSetObject
from .common import SUCCESS, Violation, read_struct, xr_function

ST = xr.StructureType
AT = xr.ActionType


@dataclass
class ActionValue:
    """An action's state for one subaction path after the latest xrSyncActions (time in ns)."""

    current: Any
    changed: bool
    last_change_time: int
    active: bool


class ActionStateMixin:
    """xrSyncActions .. xrStopHapticFeedback."""

    @xr_function("xrSyncActions")
    def _sync_actions(self, session_handle: Any, sync_info: Any) -> int:
        session = self._session(session_handle)
        info = read_struct(sync_info, xr.ActionsSyncInfo, ST.ACTIONS_SYNC_INFO)
        active: dict[int, set[int]] = {}
        for i in range(info.count_active_action_sets):
            entry = info._active_action_sets[i]
            action_set = self._get(entry.action_set, ActionSetObject, "XrActionSet")
            if action_set.session != session.handle:
                raise Violation(xr.Result.ERROR_ACTIONSET_NOT_ATTACHED, f"action set {action_set.name!r} not attached")
            active.setdefault(action_set.handle, set()).add(entry.subaction_path)
        self._update_profile(session)
        focused = session.runtime_state == xr.SessionState.FOCUSED
        session.active_sets = set(active) if focused else set()
        for set_handle in session.attached_sets:
            action_set = self._objects.get(set_handle)
            for action_handle in action_set.actions if action_set else []:
                self._sample(session, self._objects[action_handle], active.get(set_handle, set()) if focused else set())
        return SUCCESS if focused else int(xr.Result.SESSION_NOT_FOCUSED)

    def _sample(self, session: Any, action: ActionObject, set_paths: set[int]) -> None:
        bindings = self._bindings.get(session.bound_profile or "", [])
        now = self._now_ns()
        combined: list[tuple[Any, bool]] = []
        for top, hand in profiles.HANDS.items():
            sub = self._path_id(top)
            if action.subaction_paths and sub not in action.subaction_paths:
                continue
            controller = self.controllers.get(hand)
            enabled = bool(set_paths & {0, sub}) and controller is not None and controller.active
            values = []
            for action_handle, path in bindings:
                split = profiles.split_binding(path)
                if enabled and action_handle == action.handle and split is not None and split[0] == hand:
                    values.append(profiles.read_component(controller, split[1]))
            value = _combine(action.action_type, values)
            self._store(session, (action.handle, sub), value, bool(values), now)
            combined.append((value, bool(values)))
        present = [value for value, is_active in combined if is_active]
        self._store(session, (action.handle, 0), _combine(action.action_type, present), bool(present), now)

    def _store(self, session: Any, key: tuple[int, int], value: Any, active: bool, now: int) -> None:
        previous = session.action_states.get(key)
        was_active = previous is not None and previous.active
        changed = active and was_active and previous.current != value
        if changed or (active and not was_active):
            last = now
        else:
            last = previous.last_change_time if (previous is not None and active) else 0
        session.action_states[key] = ActionValue(value, changed, last, active)

    def _state_for(self, session_handle: Any, get_info: Any, expected: AT) -> ActionValue:
        session = self._session(session_handle)
        info = read_struct(get_info, xr.ActionStateGetInfo, ST.ACTION_STATE_GET_INFO)
        action = self._action(info.action)
        if self._objects[action.action_set].session != session.handle:
            raise Violation(xr.Result.ERROR_ACTIONSET_NOT_ATTACHED, f"action {action.name!r} is not attached")
        if action.action_type != expected:
            raise Violation(
                xr.Result.ERROR_ACTION_TYPE_MISMATCH, f"{action.name!r} is {action.action_type.name}, read as {expected.name}"
            )
        self._check_subaction(action, info.subaction_path)
        default = ActionValue(_combine(expected, []), False, 0, False)
        return session.action_states.get((action.handle, info.subaction_path), default)

    @xr_function("xrGetActionStateBoolean")
    def _get_boolean(self, session_handle: Any, get_info: Any, state_out: Any) -> None:
        value = self._state_for(session_handle, get_info, AT.BOOLEAN_INPUT)
        state = read_struct(state_out, xr.ActionStateBoolean, ST.ACTION_STATE_BOOLEAN)
        state.current_state = int(bool(value.current))
        state.changed_since_last_sync, state.last_change_time, state.is_active = value.changed, value.last_change_time, value.active

    @xr_function("xrGetActionStateFloat")
    def _get_float(self, session_handle: Any, get_info: Any, state_out: Any) -> None:
        value = self._state_for(session_handle, get_info, AT.FLOAT_INPUT)
        state = read_struct(state_out, xr.ActionStateFloat, ST.ACTION_STATE_FLOAT)
        state.current_state = float(value.current)
        state.changed_since_last_sync, state.last_change_time, state.is_active = value.changed, value.last_change_time, value.active

    @xr_function("xrGetActionStateVector2f")
    def _get_vector2f(self, session_handle: Any, get_info: Any, state_out: Any) -> None:
        value = self._state_for(session_handle, get_info, AT.VECTOR2F_INPUT)
        state = read_struct(state_out, xr.ActionStateVector2f, ST.ACTION_STATE_VECTOR2F)
        state.current_state.x, state.current_state.y = value.current
        state.changed_since_last_sync, state.last_change_time, state.is_active = value.changed, value.last_change_time, value.active

    @xr_function("xrGetActionStatePose")
    def _get_pose(self, session_handle: Any, get_info: Any, state_out: Any) -> None:
        value = self._state_for(session_handle, get_info, AT.POSE_INPUT)
        state = read_struct(state_out, xr.ActionStatePose, ST.ACTION_STATE_POSE)
        state.is_active = value.active

    def _action_space_hand(self, session: Any, space: Any) -> str | None:
        """The hand an action space follows now, or ``None`` if its action is inactive."""
        if session is None:
            return None
        for top, hand in profiles.HANDS.items():
            sub = self._path_id(top)
            if space.subaction_path in (0, sub):
                value = session.action_states.get((space.action, sub))
                if value is not None and value.active:
                    return hand
        return None

    # ----------------------------------------------------------------- haptics

    def _haptic_hands(self, session_handle: Any, info_pointer: Any) -> tuple[Any, list[str]]:
        session = self._session(session_handle)
        info = read_struct(info_pointer, xr.HapticActionInfo, ST.HAPTIC_ACTION_INFO)
        action = self._action(info.action)
        if self._objects[action.action_set].session != session.handle:
            raise Violation(xr.Result.ERROR_ACTIONSET_NOT_ATTACHED, f"action {action.name!r} is not attached")
        if action.action_type != AT.VIBRATION_OUTPUT:
            raise Violation(xr.Result.ERROR_ACTION_TYPE_MISMATCH, f"haptics on {action.action_type.name} action")
        self._check_subaction(action, info.subaction_path)
        hands = []
        for top, hand in profiles.HANDS.items():
            sub = self._path_id(top)
            value = session.action_states.get((action.handle, sub))
            if info.subaction_path in (0, sub) and value is not None and value.active:
                hands.append(hand)
        return session, hands

    @xr_function("xrApplyHapticFeedback")
    def _apply_haptics(self, session_handle: Any, info_pointer: Any, feedback: Any) -> int:
        session, hands = self._haptic_hands(session_handle, info_pointer)
        vibration = read_struct(feedback, xr.HapticVibration, ST.HAPTIC_VIBRATION)
        if session.runtime_state != xr.SessionState.FOCUSED:
            return int(xr.Result.SESSION_NOT_FOCUSED)
        for hand in hands:
            self.haptics.append((hand, int(vibration.duration), float(vibration.frequency), float(vibration.amplitude)))
        return SUCCESS

    @xr_function("xrStopHapticFeedback")
    def _stop_haptics(self, session_handle: Any, info_pointer: Any) -> int:
        session, hands = self._haptic_hands(session_handle, info_pointer)
        if session.runtime_state != xr.SessionState.FOCUSED:
            return int(xr.Result.SESSION_NOT_FOCUSED)
        self.haptic_stops.extend(hands)
        return SUCCESS


def _combine(action_type: AT, values: list[Any]) -> Any:
    """One value from several bound sources, converted to the action's type."""
    if action_type == AT.BOOLEAN_INPUT:
        return any(v if isinstance(v, bool) else float(v) > 0.5 for v in values)
    if action_type == AT.FLOAT_INPUT:
        floats = [float(v) for v in values]
        return max(floats, key=abs, default=0.0)
    if action_type == AT.VECTOR2F_INPUT:
        return max(values, key=lambda v: math.hypot(*v), default=(0.0, 0.0))
    return None


