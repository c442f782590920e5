"""The OpenXR test runtime, driven through pyopenxr and the real OpenXR loader."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xr")

from xr_runtime import EglContext, EglUnavailable, FakeRuntime, missing_manifest

SS = xr.SessionState
EXTENSIONS = ["XR_KHR_opengl_enable", "XR_MNDX_egl_enable"]
TOUCH = "/interaction_profiles/oculus/touch_controller"
SIMPLE = "/interaction_profiles/khr/simple_controller"


@pytest.fixture(scope="module")
def egl() -> Iterator[EglContext]:
    try:
        context = EglContext()
    except EglUnavailable as exc:
        pytest.skip(f"no headless EGL/OpenGL here: {exc}")
    yield context
    context.close()


def new_instance(extensions: list[str] = EXTENSIONS) -> Any:
    info = xr.InstanceCreateInfo(
        application_info=xr.ApplicationInfo(application_name="runtime tests", engine_name="none"),
        enabled_extension_names=extensions,
    )
    return xr.create_instance(info)


class App:
    """A minimal, well-behaved OpenXR application with a surfaceless EGL context."""

    def __init__(self, egl: EglContext, *, requirements: bool = True) -> None:
        egl.make_current()
        self.egl = egl
        self.instance = new_instance()
        self.system = xr.get_system(self.instance, xr.SystemGetInfo(xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        if requirements:
            xr.get_opengl_graphics_requirements_khr(self.instance, self.system)
        self.binding = egl.graphics_binding()
        self.session: Any = None
        self.states: list[Any] = []
        self.events: list[Any] = []

    def create_session(self) -> None:
        info = xr.SessionCreateInfo(system_id=self.system, next=self.binding)
        self.session = xr.create_session(self.instance, info)

    def poll(self) -> list[Any]:
        """Drain events; returns the session states seen."""
        seen = []
        while True:
            try:
                event = xr.poll_event(self.instance)
            except xr.EventUnavailable:
                return seen
            self.events.append(xr.StructureType(event.type))
            if event.type == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                state = SS(ctypes.cast(ctypes.byref(event), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents._state)
                seen.append(state)
                self.states.append(state)

    def begin(self) -> None:
        self.poll()
        xr.begin_session(self.session, xr.SessionBeginInfo(xr.ViewConfigurationType.PRIMARY_STEREO))

    def frame(self, layers: list[Any] | None = None, render: Any = None) -> Any:
        self.poll()
        state = xr.wait_frame(self.session)
        xr.begin_frame(self.session)
        if render is not None:
            layers = render(state)
        xr.end_frame(
            self.session,
            xr.FrameEndInfo(display_time=state.predicted_display_time, layers=layers or []),
        )
        return state

    def reference_space(self, kind: Any, pose: Any = None) -> Any:
        info = xr.ReferenceSpaceCreateInfo(kind, pose or xr.Posef())
        return xr.create_reference_space(self.session, info)

    def close(self) -> None:
        if self.session is not None:
            xr.destroy_session(self.session)
        xr.destroy_instance(self.instance)


@pytest.fixture
def app(xr_runtime: FakeRuntime, egl: EglContext) -> Iterator[App]:
    application = App(egl)
    application.create_session()
    yield application
    application.close()


def assert_clean(runtime: FakeRuntime) -> None:
    assert runtime.errors == []
    assert runtime.violations == []


# ---------------------------------------------------------------------------- instance


def test_extensions_are_listed(xr_runtime: FakeRuntime) -> None:
    offered = {p.extension_name.decode(): p.extension_version for p in xr.enumerate_instance_extension_properties()}
    assert offered["XR_KHR_opengl_enable"] == 10
    assert offered["XR_MNDX_egl_enable"] == 2


def test_instance_is_created_and_destroyed(xr_runtime: FakeRuntime) -> None:
    instance = new_instance()
    properties = xr.get_instance_properties(instance)
    assert properties.runtime_name == b"vr test runtime"
    assert properties.runtime_version == xr.Version(0, 1, 0)
    assert xr_runtime.instance_info.application_name == "runtime tests"
    assert xr_runtime.instance_info.extensions == tuple(EXTENSIONS)
    xr.destroy_instance(instance)
    assert xr_runtime.live_instances == []
    assert xr_runtime.calls["xrCreateInstance"] == 1
    assert xr_runtime.calls["xrDestroyInstance"] == 1
    assert_clean(xr_runtime)


def test_refused_extension_raises_extension_not_present(xr_runtime: FakeRuntime) -> None:
    del xr_runtime.extensions["XR_MNDX_egl_enable"]
    names = [p.extension_name for p in xr.enumerate_instance_extension_properties()]
    assert b"XR_MNDX_egl_enable" not in names
    with pytest.raises(xr.ExtensionNotPresentError):
        new_instance()
    assert xr_runtime.live_instances == []


def test_missing_runtime_raises_runtime_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("XR_RUNTIME_JSON", str(missing_manifest(tmp_path)))
    with pytest.raises(xr.RuntimeUnavailableError, match="unable to find or load a runtime"):
        new_instance()


def test_system_and_view_configuration(xr_runtime: FakeRuntime) -> None:
    instance = new_instance()
    system = xr.get_system(instance, xr.SystemGetInfo(xr.FormFactor.HEAD_MOUNTED_DISPLAY))
    properties = xr.get_system_properties(instance, system)
    assert properties.system_name == b"Test HMD"
    assert properties.graphics_properties.max_swapchain_image_width == 2048
    assert properties.tracking_properties.position_tracking
    stereo = xr.ViewConfigurationType.PRIMARY_STEREO
    assert list(xr.enumerate_view_configurations(instance, system)) == [stereo]
    views = xr.enumerate_view_configuration_views(instance, system, stereo)
    assert [(v.recommended_image_rect_width, v.recommended_image_rect_height) for v in views] == [(192, 160)] * 2
    assert [v.max_swapchain_sample_count for v in views] == [4, 4]
    assert list(xr.enumerate_environment_blend_modes(instance, system, stereo)) == [xr.EnvironmentBlendMode.OPAQUE]
    with pytest.raises(xr.FormFactorUnavailableError):
        xr.get_system(instance, xr.SystemGetInfo(xr.FormFactor.HANDHELD_DISPLAY))
    xr.destroy_instance(instance)
    assert_clean(xr_runtime)


def test_exception_inside_the_runtime_becomes_runtime_failure(xr_runtime: FakeRuntime) -> None:
    xr_runtime.system_name = None  # type: ignore[assignment]  # breaks xrGetSystemProperties
    instance = new_instance()
    system = xr.get_system(instance, xr.SystemGetInfo(xr.FormFactor.HEAD_MOUNTED_DISPLAY))
    with pytest.raises(xr.RuntimeFailureError):
        xr.get_system_properties(instance, system)
    assert len(xr_runtime.errors) == 1 and "AttributeError" in xr_runtime.errors[0]
    xr.destroy_instance(instance)


# ----------------------------------------------------------------------------- session


def test_session_needs_graphics_requirements(xr_runtime: FakeRuntime, egl: EglContext) -> None:
    application = App(egl, requirements=False)
    with pytest.raises(xr.GraphicsRequirementsCallMissingError):
        application.create_session()
    assert len(xr_runtime.violations) == 1
    application.close()


def test_session_state_machine(xr_runtime: FakeRuntime, app: App) -> None:
    assert xr_runtime.binding == "egl"
    assert app.poll() == [SS.IDLE, SS.READY]
    with pytest.raises(xr.SessionNotRunningError):
        xr.wait_frame(app.session)
    xr_runtime.violations.clear()
    app.begin()
    should_render = [bool(app.frame().should_render) for _ in range(4)]
    assert app.states == [SS.IDLE, SS.READY, SS.SYNCHRONIZED, SS.VISIBLE, SS.FOCUSED]
    assert should_render == [False, True, True, True]
    with pytest.raises(xr.SessionNotStoppingError):
        xr.end_session(app.session)
    xr_runtime.violations.clear()
    xr.request_exit_session(app.session)
    app.frame()
    assert app.states[-3:] == [SS.VISIBLE, SS.SYNCHRONIZED, SS.STOPPING]
    xr.end_session(app.session)
    assert app.poll() == [SS.IDLE, SS.EXITING]
    assert xr_runtime.states == app.states
    assert_clean(xr_runtime)


def test_frame_call_order(xr_runtime: FakeRuntime, app: App) -> None:
    app.begin()
    with pytest.raises(xr.CallOrderInvalidError):
        xr.begin_frame(app.session)
    state = xr.wait_frame(app.session)
    xr.begin_frame(app.session)
    with pytest.raises(xr.TimeInvalidError):
        xr.end_frame(app.session, xr.FrameEndInfo(display_time=state.predicted_display_time + 1))
    with pytest.raises(xr.CallOrderInvalidError):
        xr.end_frame(app.session, xr.FrameEndInfo(display_time=state.predicted_display_time))
    assert len(xr_runtime.violations) == 3
    xr_runtime.violations.clear()
    first = xr.wait_frame(app.session)
    xr.begin_frame(app.session)
    second = xr.wait_frame(app.session)
    assert second.predicted_display_time - first.predicted_display_time == xr_runtime.display_period_ns
    with pytest.raises(xr.FrameDiscarded):
        xr.begin_frame(app.session)
    xr.end_frame(app.session, xr.FrameEndInfo(display_time=second.predicted_display_time))
    assert xr_runtime.discarded_frames == 1
    assert_clean(xr_runtime)


def test_scripted_loss_pending(xr_runtime: FakeRuntime, app: App) -> None:
    xr_runtime.schedule(3, "loss_pending")
    app.begin()
    for _ in range(4):
        app.frame()
    assert app.poll() == [SS.LOSS_PENDING]
    with pytest.raises(xr.SessionLostError):
        xr.wait_frame(app.session)
    xr.destroy_session(app.session)
    app.session = None
    assert_clean(xr_runtime)


def test_scripted_user_exit_and_unfocus(xr_runtime: FakeRuntime, app: App) -> None:
    xr_runtime.schedule(4, "unfocus")
    xr_runtime.schedule(5, "focus")
    xr_runtime.schedule(7, "user_exit")
    app.begin()
    for _ in range(8):
        app.frame()
    app.poll()
    assert app.states[2:] == [
        SS.SYNCHRONIZED, SS.VISIBLE, SS.FOCUSED, SS.VISIBLE, SS.FOCUSED, SS.VISIBLE, SS.SYNCHRONIZED, SS.STOPPING
    ]
    xr.end_session(app.session)
    assert app.poll() == [SS.IDLE, SS.EXITING]
    assert_clean(xr_runtime)


def test_scripted_hide_recenter_and_instance_loss(xr_runtime: FakeRuntime, app: App) -> None:
    xr_runtime.schedule(3, "hide")
    xr_runtime.schedule(4, "recenter")
    xr_runtime.schedule(5, "instance_loss")
    app.begin()
    should_render = [bool(app.frame().should_render) for _ in range(6)]
    assert should_render == [False, True, True, False, False, False]
    app.poll()
    assert app.states[-2:] == [SS.VISIBLE, SS.SYNCHRONIZED]
    changed = xr.StructureType.EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING
    assert app.events.count(changed) == 2  # LOCAL and STAGE
    assert app.events[-1] == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING
    with pytest.raises(xr.InstanceLostError):
        xr.wait_frame(app.session)
    assert_clean(xr_runtime)


def test_pace_keeps_the_display_period(xr_runtime: FakeRuntime, app: App) -> None:
    import time

    xr_runtime.pace = True
    xr_runtime.display_period_ns = 10_000_000
    start = time.monotonic()
    app.begin()
    for _ in range(5):  # the fifth xrWaitFrame returns no earlier than four periods after xrBeginSession
        app.frame()
    assert time.monotonic() - start >= 0.040
    assert_clean(xr_runtime)


# ------------------------------------------------------------------------------ spaces


def test_views_and_spaces(xr_runtime: FakeRuntime, app: App) -> None:
    yaw = math.radians(90.0)
    xr_runtime.head_path = lambda frame: ((0.5, 1.7, -1.0), (0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)))
    stage, local = app.reference_space(xr.ReferenceSpaceType.STAGE), app.reference_space(xr.ReferenceSpaceType.LOCAL)
    view = app.reference_space(xr.ReferenceSpaceType.VIEW)
    app.begin()
    state = app.frame()
    t = state.predicted_display_time
    view_state, views = xr.locate_views(app.session, xr.ViewLocateInfo(display_time=t, space=stage))
    assert view_state.view_state_flags == xr.ViewStateFlags.ALL
    # Facing -X after a 90 degree left turn: the left eye sits at +Z, the right eye at -Z.
    left, right = (np.array([v.pose.position.x, v.pose.position.y, v.pose.position.z]) for v in views)
    np.testing.assert_allclose(left, [0.5, 1.7, -1.0 + 0.032], atol=1e-5)
    np.testing.assert_allclose(right, [0.5, 1.7, -1.0 - 0.032], atol=1e-5)
    assert views[0].fov.angle_left == pytest.approx(-0.95) and views[1].fov.angle_right == pytest.approx(0.95)
    _, local_views = xr.locate_views(app.session, xr.ViewLocateInfo(display_time=t, space=local))
    assert local_views[0].pose.position.y == pytest.approx(1.7 - 1.6)
    head = xr.locate_space(view, stage, t)
    assert head.location_flags == xr.SpaceLocationFlags.ALL
    assert (head.pose.position.x, head.pose.orientation.y) == (pytest.approx(0.5), pytest.approx(math.sin(yaw / 2)))
    raised = app.reference_space(xr.ReferenceSpaceType.STAGE, xr.Posef(position=xr.Vector3f(0, 1.6, 0)))
    assert xr.locate_space(local, raised, t).pose.position.y == pytest.approx(0.0, abs=1e-6)
    bounds = xr.get_reference_space_bounds_rect(app.session, xr.ReferenceSpaceType.STAGE)
    assert (bounds.width, bounds.height) == (2.0, 3.0)
    assert_clean(xr_runtime)


def test_stage_can_be_withheld(xr_runtime: FakeRuntime, app: App) -> None:
    xr_runtime.reference_spaces.remove(xr.ReferenceSpaceType.STAGE)
    assert xr.ReferenceSpaceType.STAGE not in xr.enumerate_reference_spaces(app.session)
    with pytest.raises(xr.ReferenceSpaceUnsupportedError):
        app.reference_space(xr.ReferenceSpaceType.STAGE)
    assert_clean(xr_runtime)


# -------------------------------------------------------------------------- swapchains


def test_swapchain_images_are_captured(xr_runtime: FakeRuntime, app: App, egl: EglContext) -> None:
    xr_runtime.capture = True
    width, height = xr_runtime.recommended_size
    formats = list(xr.enumerate_swapchain_formats(app.session))
    assert formats == [0x8C43, 0x8058]
    info = xr.SwapchainCreateInfo(
        usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT, format=formats[0], sample_count=1,
        width=width * 2, height=height, face_count=1, array_size=1, mip_count=1,
    )
    swapchain = xr.create_swapchain(app.session, info)
    images = xr.enumerate_swapchain_images(swapchain, xr.SwapchainImageOpenGLKHR)
    textures = [image.image for image in images]
    assert len(set(textures)) == 3 and all(textures)
    space = app.reference_space(xr.ReferenceSpaceType.LOCAL)
    app.begin()

    def render(state: Any) -> list[Any]:
        index = xr.acquire_swapchain_image(swapchain)
        xr.wait_swapchain_image(swapchain, xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION))
        egl.clear_texture(textures[index], (1.0, 0.0, 0.0, 1.0), (0, 0, width, height))  # left eye: red
        egl.clear_texture(textures[index], (0.0, 0.0, 1.0, 1.0), (width, 0, width, height))  # right eye: blue
        egl.clear_texture(textures[index], (0.0, 1.0, 0.0, 1.0), (width, 0, width, 10))  # bottom 10 rows green
        xr.release_swapchain_image(swapchain)
        _, views = xr.locate_views(app.session, xr.ViewLocateInfo(display_time=state.predicted_display_time, space=space))
        projection = [
            xr.CompositionLayerProjectionView(
                pose=view.pose, fov=view.fov,
                sub_image=xr.SwapchainSubImage(swapchain, xr.Rect2Di(xr.Offset2Di(eye * width, 0), xr.Extent2Di(width, height))),
            )
            for eye, view in enumerate(views)
        ]
        layer = xr.CompositionLayerProjection(space=space, views=projection)
        return [ctypes.pointer(layer)]

    for _ in range(3):
        app.frame(render=render)
    submission = xr_runtime.submissions[-1]
    assert submission.space == "LOCAL" and len(submission.views) == 2
    assert submission.frame_index == 2 and len(xr_runtime.submissions) == 3
    left, right = (view.pixels for view in submission.views)
    assert left.shape == (height, width, 4) and left.dtype == np.uint8
    assert (left == [255, 0, 0, 255]).all()
    assert (right[0] == [0, 0, 255, 255]).all()  # top row
    assert (right[-10:] == [0, 255, 0, 255]).all()  # bottom rows
    assert submission.views[1].image_rect == (width, 0, width, height)
    assert submission.views[0].fov == pytest.approx(xr_runtime.eye_fovs[0])
    xr.destroy_swapchain(swapchain)
    assert_clean(xr_runtime)


def test_swapchain_order_rules(xr_runtime: FakeRuntime, app: App) -> None:
    info = xr.SwapchainCreateInfo(format=0x8058, sample_count=1, width=16, height=16, face_count=1, array_size=1,
                                  mip_count=1)
    swapchain = xr.create_swapchain(app.session, info)
    with pytest.raises(xr.CallOrderInvalidError):
        xr.release_swapchain_image(swapchain)
    assert [xr.acquire_swapchain_image(swapchain) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(xr.CallOrderInvalidError):
        xr.acquire_swapchain_image(swapchain)
    assert len(xr_runtime.violations) == 2
    xr_runtime.violations.clear()
    with pytest.raises(xr.SwapchainFormatUnsupportedError):
        xr.create_swapchain(app.session, xr.SwapchainCreateInfo(format=0x1234, sample_count=1, width=16, height=16,
                                                                face_count=1, array_size=1, mip_count=1))
    xr_runtime.violations.clear()
    xr.destroy_swapchain(swapchain)
    assert_clean(xr_runtime)


def test_swapchain_calls_need_the_current_context(xr_runtime: FakeRuntime, app: App, egl: EglContext) -> None:
    info = xr.SwapchainCreateInfo(format=0x8058, sample_count=1, width=16, height=16, face_count=1, array_size=1,
                                  mip_count=1)
    swapchain = xr.create_swapchain(app.session, info)
    egl.release()
    try:
        with pytest.raises(xr.GraphicsDeviceInvalidError):
            xr.acquire_swapchain_image(swapchain)
        assert xr_runtime.violations == ["xrAcquireSwapchainImage: the session's GL context is not current"]
    finally:
        egl.make_current()
    xr.destroy_swapchain(swapchain)


# ----------------------------------------------------------------------------- actions


def make_actions(app: App, profiles: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    path = lambda text: xr.string_to_path(app.instance, text)
    hands = [path("/user/hand/left"), path("/user/hand/right")]
    action_set = xr.create_action_set(app.instance, xr.ActionSetCreateInfo("main", "Main", 0))
    kinds = {"select": xr.ActionType.BOOLEAN_INPUT, "trigger": xr.ActionType.FLOAT_INPUT,
             "move": xr.ActionType.VECTOR2F_INPUT, "grip": xr.ActionType.POSE_INPUT,
             "buzz": xr.ActionType.VIBRATION_OUTPUT}
    actions = {
        name: xr.create_action(action_set, xr.ActionCreateInfo(name, kind, subaction_paths=hands,
                                                                localized_action_name=name.title()))
        for name, kind in kinds.items()
    }
    for profile, bindings in profiles.items():
        suggested = [xr.ActionSuggestedBinding(actions[name], path(binding)) for name, binding in bindings]
        xr.suggest_interaction_profile_bindings(
            app.instance, xr.InteractionProfileSuggestedBinding(path(profile), suggested_bindings=suggested)
        )
    xr.attach_session_action_sets(app.session, xr.SessionActionSetsAttachInfo(action_sets=[action_set]))
    actions["_set"] = action_set
    actions["_hands"] = hands
    return actions


def sync(app: App, actions: dict[str, Any]) -> None:
    xr.sync_actions(app.session, xr.ActionsSyncInfo(active_action_sets=[xr.ActiveActionSet(actions["_set"], 0)]))


def focus(app: App) -> None:
    app.begin()
    for _ in range(4):
        app.frame()
    assert app.states[-1] == SS.FOCUSED


TOUCH_BINDINGS = [
    ("select", "/user/hand/right/input/a/click"), ("select", "/user/hand/left/input/x/click"),
    ("trigger", "/user/hand/left/input/trigger/value"), ("trigger", "/user/hand/right/input/trigger/value"),
    ("move", "/user/hand/left/input/thumbstick"), ("grip", "/user/hand/right/input/grip/pose"),
    ("buzz", "/user/hand/right/output/haptic"),
]
SIMPLE_BINDINGS = [("select", "/user/hand/right/input/select/click"), ("grip", "/user/hand/right/input/grip/pose"),
                   ("buzz", "/user/hand/right/output/haptic")]


def test_actions_follow_the_touch_controllers(xr_runtime: FakeRuntime, app: App) -> None:
    actions = make_actions(app, {TOUCH: TOUCH_BINDINGS, SIMPLE: SIMPLE_BINDINGS})
    assert set(xr_runtime.suggested) == {TOUCH, SIMPLE}
    focus(app)
    right = xr_runtime.controllers["right"]
    right.select, right.trigger, right.position = True, 0.75, (0.3, 1.1, -0.4)
    xr_runtime.controllers["left"].thumbstick = (0.0, -0.5)
    sync(app, actions)
    left_hand, right_hand = actions["_hands"]
    state = lambda fn, name, sub=0: fn(app.session, xr.ActionStateGetInfo(actions[name], sub))
    select = state(xr.get_action_state_boolean, "select")
    assert select.is_active and select.current_state and select.changed_since_last_sync == 0
    assert not state(xr.get_action_state_boolean, "select", left_hand).current_state
    assert state(xr.get_action_state_float, "trigger").current_state == pytest.approx(0.75)
    move = state(xr.get_action_state_vector2f, "move").current_state
    assert (move.x, move.y) == (0.0, -0.5)
    assert state(xr.get_action_state_pose, "grip", right_hand).is_active
    assert not state(xr.get_action_state_pose, "grip", left_hand).is_active
    profile = xr.get_current_interaction_profile(app.session, right_hand).interaction_profile
    assert xr.path_to_string(app.instance, profile) == TOUCH
    right.select = False
    sync(app, actions)
    assert state(xr.get_action_state_boolean, "select").changed_since_last_sync
    grip_space = xr.create_action_space(app.session, xr.ActionSpaceCreateInfo(actions["grip"], right_hand))
    stage = app.reference_space(xr.ReferenceSpaceType.STAGE)
    location = xr.locate_space(grip_space, stage, xr_runtime.submissions[-1].display_time if xr_runtime.submissions
                               else 1)
    assert location.location_flags == xr.SpaceLocationFlags.ALL
    assert location.pose.position.x == pytest.approx(0.3)
    vibration = xr.HapticVibration(duration=20_000_000, frequency=160.0, amplitude=0.5)
    xr.apply_haptic_feedback(app.session, xr.HapticActionInfo(actions["buzz"], 0), vibration)
    xr.stop_haptic_feedback(app.session, xr.HapticActionInfo(actions["buzz"], right_hand))
    assert xr_runtime.haptics == [("right", 20_000_000, 160.0, 0.5)]
    assert xr_runtime.haptic_stops == ["right"]
    right.active = False
    sync(app, actions)
    assert not state(xr.get_action_state_pose, "grip", right_hand).is_active
    assert xr.locate_space(grip_space, stage, 1).location_flags == 0
    assert_clean(xr_runtime)


def test_actions_stay_inactive_without_a_binding_for_the_controller(xr_runtime: FakeRuntime, app: App) -> None:
    actions = make_actions(app, {SIMPLE: SIMPLE_BINDINGS})
    focus(app)
    xr_runtime.controllers["right"].select = True
    sync(app, actions)
    select = xr.get_action_state_boolean(app.session, xr.ActionStateGetInfo(actions["select"], 0))
    assert not select.is_active and not select.current_state
    assert xr.get_current_interaction_profile(app.session, actions["_hands"][1]).interaction_profile == 0
    vibration = xr.HapticVibration(duration=1, amplitude=1.0)
    xr.apply_haptic_feedback(app.session, xr.HapticActionInfo(actions["buzz"], 0), vibration)
    assert xr_runtime.haptics == []
    assert_clean(xr_runtime)


def test_sync_before_focus_is_not_focused(xr_runtime: FakeRuntime, app: App) -> None:
    actions = make_actions(app, {TOUCH: TOUCH_BINDINGS})
    with pytest.raises(xr.SessionNotFocused):
        sync(app, actions)
    assert not xr.get_action_state_float(app.session, xr.ActionStateGetInfo(actions["trigger"], 0)).is_active
    assert_clean(xr_runtime)


def test_bindings_for_unknown_paths_are_refused(xr_runtime: FakeRuntime, app: App) -> None:
    path = lambda text: xr.string_to_path(app.instance, text)
    action_set = xr.create_action_set(app.instance, xr.ActionSetCreateInfo("main", "Main", 0))
    action = xr.create_action(action_set, xr.ActionCreateInfo("select", xr.ActionType.BOOLEAN_INPUT,
                                                              localized_action_name="Select"))
    for profile, binding in [("/interaction_profiles/nobody/wand", "/user/hand/left/input/select/click"),
                             (TOUCH, "/user/hand/left/input/a/click")]:  # A is on the right controller only
        with pytest.raises(xr.PathUnsupportedError):
            xr.suggest_interaction_profile_bindings(app.instance, xr.InteractionProfileSuggestedBinding(
                path(profile), suggested_bindings=[xr.ActionSuggestedBinding(action, path(binding))]))
    with pytest.raises(xr.PathFormatInvalidError):
        path("/user/Hand/left/")
    assert len(xr_runtime.violations) == 3
    assert xr_runtime.suggested == {}
