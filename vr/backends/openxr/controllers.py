"""Controllers through OpenXR actions: one action set, bindings for the common controllers.

The patient needs very little: point (aim pose), choose (trigger), hold (grip), move a slider
(thumbstick or trackpad) and recenter (menu). Each controller family names its inputs
differently; the suggested bindings below map them onto those few actions, and the runtime
picks the set that matches the controller in the patient's hands.
"""

from __future__ import annotations

from dataclasses import dataclass

HANDS = ("left", "right")

# action name -> (OpenXR action type name, human-readable name)
ACTIONS = {
    "aim_pose": ("POSE_INPUT", "Aim"),
    "trigger": ("FLOAT_INPUT", "Choose"),
    "squeeze": ("FLOAT_INPUT", "Grip"),
    "thumbstick": ("VECTOR2F_INPUT", "Slide"),
    "menu": ("BOOLEAN_INPUT", "Recenter"),
    "haptic": ("VIBRATION_OUTPUT", "Pulse"),
}

# interaction profile -> action -> input path under /user/hand/<hand> (per hand where it differs)
PROFILES: dict[str, dict[str, str | dict[str, str]]] = {
    "/interaction_profiles/khr/simple_controller": {
        "aim_pose": "/input/aim/pose", "trigger": "/input/select/click", "menu": "/input/menu/click",
        "haptic": "/output/haptic"},
    "/interaction_profiles/oculus/touch_controller": {
        "aim_pose": "/input/aim/pose", "trigger": "/input/trigger/value", "squeeze": "/input/squeeze/value",
        "thumbstick": "/input/thumbstick", "menu": {"left": "/input/menu/click", "right": "/input/b/click"},
        "haptic": "/output/haptic"},
    "/interaction_profiles/valve/index_controller": {
        "aim_pose": "/input/aim/pose", "trigger": "/input/trigger/value", "squeeze": "/input/squeeze/value",
        "thumbstick": "/input/thumbstick", "menu": "/input/b/click", "haptic": "/output/haptic"},
    "/interaction_profiles/htc/vive_controller": {
        "aim_pose": "/input/aim/pose", "trigger": "/input/trigger/value", "squeeze": "/input/squeeze/click",
        "thumbstick": "/input/trackpad", "menu": "/input/menu/click", "haptic": "/output/haptic"},
    "/interaction_profiles/microsoft/motion_controller": {
        "aim_pose": "/input/aim/pose", "trigger": "/input/trigger/value", "squeeze": "/input/squeeze/click",
        "thumbstick": "/input/thumbstick", "menu": "/input/menu/click", "haptic": "/output/haptic"},
}


@dataclass(frozen=True)
class ControllerState:
    """One hand's controller this frame. ``aim`` is an OpenXR pose (position, quaternion xyzw) or None."""

    active: bool = False
    aim: tuple[tuple, tuple] | None = None
    trigger: float = 0.0
    squeeze: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    menu: bool = False


def bindings(profile: str) -> list[tuple[str, str]]:
    """(action, full input path) pairs suggested for one interaction profile."""
    out = []
    for action, path in PROFILES[profile].items():
        for hand in HANDS:
            sub = path[hand] if isinstance(path, dict) else path
            out.append((action, f"/user/hand/{hand}{sub}"))
    return out


class Controllers:
    """Creates the actions before the session's action sets are attached; reads them each frame."""

    def __init__(self, instance, session) -> None:
        import xr

        self.session = session
        self.instance = instance
        self.hand_paths = {hand: xr.string_to_path(instance, f"/user/hand/{hand}") for hand in HANDS}
        self.action_set = xr.create_action_set(instance, xr.ActionSetCreateInfo(
            action_set_name="patient", localized_action_set_name="Patient", priority=0))
        subpaths = list(self.hand_paths.values())
        self.actions = {}
        for name, (kind, label) in ACTIONS.items():
            self.actions[name] = xr.create_action(self.action_set, xr.ActionCreateInfo(
                action_type=getattr(xr.ActionType, kind), action_name=name, localized_action_name=label,
                subaction_paths=subpaths))
        self.suggested: list[str] = []
        for profile in PROFILES:
            suggested = [xr.ActionSuggestedBinding(self.actions[a], xr.string_to_path(instance, p))
                         for a, p in bindings(profile)]
            try:
                xr.suggest_interaction_profile_bindings(instance, xr.InteractionProfileSuggestedBinding(
                    interaction_profile=xr.string_to_path(instance, profile), suggested_bindings=suggested))
                self.suggested.append(profile)
            except xr.PathUnsupportedError:
                pass  # an older runtime without this controller family: the others still apply
        xr.attach_session_action_sets(session, xr.SessionActionSetsAttachInfo(action_sets=[self.action_set]))
        self.spaces = {hand: xr.create_action_space(session, xr.ActionSpaceCreateInfo(
            action=self.actions["aim_pose"], subaction_path=path, pose_in_action_space=xr.Posef()))
            for hand, path in self.hand_paths.items()}
        self.states = {hand: ControllerState() for hand in HANDS}

    def sync(self, locate) -> dict[str, ControllerState]:
        """Read every hand's actions (only while the session has input focus)."""
        import xr

        try:
            xr.sync_actions(self.session, xr.ActionsSyncInfo(active_action_sets=[xr.ActiveActionSet(self.action_set)]))
        except (xr.SessionNotFocused, xr.SessionLostError, xr.SessionNotRunningError):
            self.states = {hand: ControllerState() for hand in HANDS}
            return self.states
        for hand, path in self.hand_paths.items():
            def get(name, fn, path=path):
                return fn(self.session, xr.ActionStateGetInfo(action=self.actions[name], subaction_path=path))

            pose_state = get("aim_pose", xr.get_action_state_pose)
            trigger = get("trigger", xr.get_action_state_float)
            squeeze = get("squeeze", xr.get_action_state_float)
            stick = get("thumbstick", xr.get_action_state_vector2f)
            menu = get("menu", xr.get_action_state_boolean)
            active = bool(pose_state.is_active)
            self.states[hand] = ControllerState(
                active=active, aim=locate(self.spaces[hand]) if active else None,
                trigger=float(trigger.current_state) if trigger.is_active else 0.0,
                squeeze=float(squeeze.current_state) if squeeze.is_active else 0.0,
                thumbstick=(float(stick.current_state.x), float(stick.current_state.y)) if stick.is_active else (0.0, 0.0),
                menu=bool(menu.current_state) if menu.is_active else False)
        return self.states

    def current_profile(self, hand: str) -> str:
        import xr

        try:
            state = xr.get_current_interaction_profile(self.session, self.hand_paths[hand])
        except xr.XrException:
            return ""
        if not state.interaction_profile:
            return ""
        return xr.path_to_string(self.instance, state.interaction_profile)

    def pulse(self, hand: str, duration_s: float = 0.05, amplitude: float = 0.5, frequency_hz: float = 0.0) -> None:
        """A short vibration on one hand (frequency 0: the runtime's default)."""
        import xr

        vibration = xr.HapticVibration(duration=int(duration_s * 1e9), frequency=frequency_hz, amplitude=amplitude)
        try:
            xr.apply_haptic_feedback(self.session, xr.HapticActionInfo(action=self.actions["haptic"],
                                                                       subaction_path=self.hand_paths[hand]),
                                     vibration)  # pyopenxr passes it by reference as the base header
        except xr.XrException:
            pass  # a pulse that cannot be given is not worth stopping a session for

    def close(self) -> None:
        import xr

        for space in self.spaces.values():
            try:
                xr.destroy_space(space)
            except xr.XrException:
                pass
        try:
            xr.destroy_action_set(self.action_set)  # destroys its actions too
        except xr.XrException:
            pass
