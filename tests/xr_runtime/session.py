"""Session life cycle, frame loop and scripted incidents of the test runtime.

State changes take effect for the application when it receives them through
xrPollEvent (``runtime.states`` lists them in delivery order); the runtime's own
view (``runtime_state``: the last state queued) decides ``should_render`` and
focus.  After xrBeginSession the runtime climbs SYNCHRONIZED -> VISIBLE ->
FOCUSED, queueing one step per xrWaitFrame.

Incidents (``runtime.schedule(frame_index, name)``; they fire inside the
xrWaitFrame whose index, counted from 0 since xrBeginSession, matches):

* ``loss_pending``: queue LOSS_PENDING; once the application has received it, or
  from the next xrWaitFrame on, frame and swapchain calls return XR_ERROR_SESSION_LOST.
* ``user_exit``: the runtime wants the session to stop (VISIBLE, SYNCHRONIZED, STOPPING).
* ``unfocus`` / ``focus``: FOCUSED -> VISIBLE (a runtime menu is open) and back.
* ``hide``: down to SYNCHRONIZED (headset taken off; should_render becomes false).
* ``instance_loss``: queue XrEventDataInstanceLossPending; from the first xrWaitFrame after
  the application received it, calls on the instance return XR_ERROR_INSTANCE_LOST.
* ``recenter``: queue XrEventDataReferenceSpaceChangePending for LOCAL and STAGE.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xr

from .common import (
    SUCCESS,
    Violation,
    XrError,
    find_in_chain,
    pointer_field,
    read_struct,
    write_u64,
    xr_function,
)
from .gl import (
    GlApi,
    egl_current_context,
    egl_proc_address_resolver,
    glx_current_context,
    glx_proc_address_resolver,
)
from .poses import Pose, as_pose

SS = xr.SessionState
ST = xr.StructureType
LADDER = (SS.READY, SS.SYNCHRONIZED, SS.VISIBLE, SS.FOCUSED)
INCIDENTS = frozenset({"loss_pending", "user_exit", "unfocus", "focus", "hide", "instance_loss", "recenter"})
HISTORY = 32


@dataclass
class SessionObject:
    """Runtime-side state of an XrSession."""

    handle: int
    instance: int
    binding: str
    context: int
    gl: GlApi
    current_context: Callable[[], int]
    app_state: SS = SS.UNKNOWN
    runtime_state: SS = SS.UNKNOWN
    target: SS = SS.FOCUSED
    running: bool = False
    exit_requested: bool = False
    loss_pending: bool = False
    lost: bool = False
    frame_index: int = 0
    time_base_ns: int = 0
    waited_time: int | None = None
    begun_time: int | None = None
    predicted_times: list[int] = field(default_factory=list)
    head_poses: dict[int, Pose] = field(default_factory=dict)
    released_since_end: set[int] = field(default_factory=set)
    swapchains: list[int] = field(default_factory=list)
    spaces: list[int] = field(default_factory=list)
    attached_sets: list[int] = field(default_factory=list)
    bound_profile: str | None = None
    action_states: dict[tuple[int, int], Any] = field(default_factory=dict)
    active_sets: set[int] = field(default_factory=set)


class SessionMixin:
    """xrCreateSession .. xrEndFrame and the state machine."""

    def _init_session_state(self) -> None:
        self._last_time_ns = 0

    # ------------------------------------------------------------------ helpers

    def _session(self, handle: Any) -> SessionObject:
        """The live session for ``handle``; XR_ERROR_INSTANCE_LOST / XR_ERROR_SESSION_LOST once lost."""
        session = self._get(handle, SessionObject, "XrSession")
        if self._objects[session.instance].lost:
            raise XrError(xr.Result.ERROR_INSTANCE_LOST)
        if session.lost:
            raise XrError(xr.Result.ERROR_SESSION_LOST)
        return session

    def _running_session(self, handle: Any, what: str) -> SessionObject:
        session = self._session(handle)
        if not session.running:
            raise Violation(xr.Result.ERROR_SESSION_NOT_RUNNING, f"{what} while the session is not running")
        return session

    def _now_ns(self) -> int:
        return self._last_time_ns or time.monotonic_ns()

    def _queue_state(self, session: SessionObject, state: SS) -> None:
        event = xr.EventDataSessionStateChanged()
        ctypes.c_void_p.from_buffer(event, type(event).session.offset).value = session.handle
        event._state = int(state)
        event.time = self._now_ns()
        session.runtime_state = state

        def delivered() -> None:
            session.app_state = state
            self.states.append(state)
            if state == SS.LOSS_PENDING:
                session.lost = True

        self._queue(event, delivered, session=session.handle)

    def _step_down(self, session: SessionObject, target: SS) -> None:
        """Queue every state from the current one down to ``target`` (READY..FOCUSED, or STOPPING)."""
        session.target = target
        if session.runtime_state not in LADDER:
            return
        floor = SS.SYNCHRONIZED if target == SS.STOPPING else target
        rank = LADDER.index(session.runtime_state)
        while rank > LADDER.index(floor):
            rank -= 1
            self._queue_state(session, LADDER[rank])
        if target == SS.STOPPING:
            self._queue_state(session, SS.STOPPING)

    def _step_up(self, session: SessionObject) -> None:
        """Queue one state towards ``session.target`` (called once per xrWaitFrame)."""
        if session.runtime_state in LADDER and session.target in LADDER:
            rank = LADDER.index(session.runtime_state)
            if rank < LADDER.index(session.target):
                self._queue_state(session, LADDER[rank + 1])

    def _check_context(self, session: SessionObject) -> None:
        """The binding's GL context must be current on the calling thread (XR_KHR_opengl_enable)."""
        if session.current_context() != session.context:
            raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "the session's GL context is not current")

    def _head_at(self, session: SessionObject | None, display_time: int) -> Pose:
        if session is not None and display_time in session.head_poses:
            return session.head_poses[display_time]
        return as_pose(self.head_pose)

    # ----------------------------------------------------------------- graphics

    @xr_function("xrGetOpenGLGraphicsRequirementsKHR")
    def _get_opengl_requirements(self, instance_handle: Any, system_id: int, requirements: Any) -> None:
        instance = self._instance(instance_handle)
        self._check_system(system_id)
        reqs = read_struct(requirements, xr.GraphicsRequirementsOpenGLKHR, ST.GRAPHICS_REQUIREMENTS_OPENGL_KHR)
        (low_major, low_minor), (high_major, high_minor) = self.gl_version_range
        reqs._min_api_version_supported = xr.Version(low_major, low_minor, 0).number()
        reqs._max_api_version_supported = xr.Version(high_major, high_minor, 0).number()
        instance.graphics_requirements_queried = True

    @xr_function("xrCreateSession")
    def _create_session(self, instance_handle: Any, create_info: Any, session_out: Any) -> None:
        instance = self._instance(instance_handle)
        info = read_struct(create_info, xr.SessionCreateInfo, ST.SESSION_CREATE_INFO)
        if info._create_flags:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "createFlags must be 0 (OpenXR 1.0 defines none)")
        self._check_system(info.system_id)
        if not instance.graphics_requirements_queried:
            raise Violation(
                xr.Result.ERROR_GRAPHICS_REQUIREMENTS_CALL_MISSING,
                "xrGetOpenGLGraphicsRequirementsKHR was not called before xrCreateSession",
            )
        chain = find_in_chain(
            info._next or 0, [ST.GRAPHICS_BINDING_EGL_MNDX, ST.GRAPHICS_BINDING_OPENGL_XLIB_KHR]
        )
        if not chain:
            raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "no EGL or Xlib graphics binding in next chain")
        if len(chain) > 1:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"{len(chain)} graphics bindings chained (one only)")
        kind, address = chain[0]
        if kind == ST.GRAPHICS_BINDING_EGL_MNDX:
            if "XR_MNDX_egl_enable" not in instance.extensions:
                raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "EGL binding without XR_MNDX_egl_enable")
            binding_type = xr.GraphicsBindingEGLMNDX
            context = pointer_field(address, binding_type, "context")
            if not pointer_field(address, binding_type, "display"):
                raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "EGL binding with a NULL display")
            resolver = egl_proc_address_resolver(pointer_field(address, binding_type, "get_proc_address"))
            name, current = "egl", egl_current_context
        else:
            if "XR_KHR_opengl_enable" not in instance.extensions:
                raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "Xlib binding without XR_KHR_opengl_enable")
            binding_type = xr.GraphicsBindingOpenGLXlibKHR
            context = pointer_field(address, binding_type, "glx_context")
            if not pointer_field(address, binding_type, "x_display"):
                raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, "Xlib binding with a NULL display")
            resolver = glx_proc_address_resolver()
            name, current = "xlib", glx_current_context
        if not context:
            raise Violation(xr.Result.ERROR_GRAPHICS_DEVICE_INVALID, f"{name} binding with a NULL context")
        if instance.sessions:
            raise XrError(xr.Result.ERROR_LIMIT_REACHED)
        session = SessionObject(0, instance.handle, name, context, GlApi(resolver), current)
        self._check_context(session)
        handle = self._new_handle(session)
        instance.sessions.append(handle)
        self.binding = name
        self._queue_state(session, SS.IDLE)
        self._queue_state(session, SS.READY)
        write_u64(session_out, handle)

    @xr_function("xrDestroySession")
    def _destroy_session(self, session_handle: Any) -> None:
        session = self._get(session_handle, SessionObject, "XrSession")
        self._destroy_session_object(session.handle)

    def _destroy_session_object(self, handle: int) -> None:
        session = self._objects[handle]
        for swapchain in list(session.swapchains):
            self._destroy_swapchain_object(swapchain, require_context=False)
        for space in list(session.spaces):
            self._objects.pop(space, None)
        self._objects[session.instance].sessions.remove(handle)
        self._events = type(self._events)(e for e in self._events if e.session != handle)
        del self._objects[handle]

    # --------------------------------------------------------------- life cycle

    @xr_function("xrBeginSession")
    def _begin_session(self, session_handle: Any, begin_info: Any) -> None:
        session = self._session(session_handle)
        info = read_struct(begin_info, xr.SessionBeginInfo, ST.SESSION_BEGIN_INFO)
        self._check_view_configuration(info._primary_view_configuration_type)
        if session.running:
            raise Violation(xr.Result.ERROR_SESSION_RUNNING, "xrBeginSession on a running session")
        if session.app_state != SS.READY:
            raise Violation(
                xr.Result.ERROR_SESSION_NOT_READY,
                f"xrBeginSession in state {session.app_state.name} (the application must have received READY)",
            )
        session.running = True
        session.target = SS.FOCUSED
        session.frame_index = 0
        session.time_base_ns = time.monotonic_ns()

    @xr_function("xrEndSession")
    def _end_session(self, session_handle: Any) -> None:
        session = self._session(session_handle)
        if not session.running:
            raise Violation(xr.Result.ERROR_SESSION_NOT_RUNNING, "xrEndSession on a session that is not running")
        if session.app_state != SS.STOPPING:
            raise Violation(
                xr.Result.ERROR_SESSION_NOT_STOPPING,
                f"xrEndSession in state {session.app_state.name} (the application must have received STOPPING)",
            )
        session.running = False
        session.waited_time = session.begun_time = None
        self._queue_state(session, SS.IDLE)
        self._queue_state(session, SS.EXITING)

    @xr_function("xrRequestExitSession")
    def _request_exit_session(self, session_handle: Any) -> None:
        session = self._running_session(session_handle, "xrRequestExitSession")
        session.exit_requested = True
        if session.target != SS.STOPPING:
            self._step_down(session, SS.STOPPING)

    # -------------------------------------------------------------------- frames

    @xr_function("xrWaitFrame")
    def _wait_frame(self, session_handle: Any, wait_info: Any, frame_state: Any) -> None:
        session = self._get(session_handle, SessionObject, "XrSession")
        instance = self._objects[session.instance]
        if instance.loss_delivered:
            instance.lost = True
        if session.loss_pending:
            session.lost = True
        session = self._running_session(session_handle, "xrWaitFrame")
        if wait_info:
            read_struct(wait_info, xr.FrameWaitInfo, ST.FRAME_WAIT_INFO)
        state = read_struct(frame_state, xr.FrameState, ST.FRAME_STATE)
        if session.waited_time is not None:
            raise Violation(
                xr.Result.ERROR_CALL_ORDER_INVALID,
                "xrWaitFrame again before xrBeginFrame (a real runtime would block forever)",
            )
        index = session.frame_index
        session.frame_index += 1
        for incident in self._schedule.pop(index, []):
            self._fire(session, incident)
        self._step_up(session)
        if self.head_path is not None:
            position, orientation = self.head_path(index)
            self.head_pose = as_pose((position, orientation))
        display_time = session.time_base_ns + (index + 1) * self.display_period_ns
        if self.pace:
            delay = session.time_base_ns + index * self.display_period_ns - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
        self._last_time_ns = display_time
        session.head_poses[display_time] = as_pose(self.head_pose)
        session.predicted_times.append(display_time)
        for old in session.predicted_times[:-HISTORY]:
            session.head_poses.pop(old, None)
        del session.predicted_times[:-HISTORY]
        session.waited_time = display_time
        state.predicted_display_time = display_time
        state.predicted_display_period = self.display_period_ns
        state.should_render = int(session.runtime_state in (SS.VISIBLE, SS.FOCUSED))

    @xr_function("xrBeginFrame")
    def _begin_frame(self, session_handle: Any, begin_info: Any) -> int:
        session = self._running_session(session_handle, "xrBeginFrame")
        if begin_info:
            read_struct(begin_info, xr.FrameBeginInfo, ST.FRAME_BEGIN_INFO)
        if session.waited_time is None:
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "xrBeginFrame without a preceding xrWaitFrame")
        discarded = session.begun_time is not None
        session.begun_time, session.waited_time = session.waited_time, None
        if discarded:
            self.discarded_frames += 1
            return int(xr.Result.FRAME_DISCARDED)
        return SUCCESS

    @xr_function("xrEndFrame")
    def _end_frame(self, session_handle: Any, end_info: Any) -> None:
        session = self._running_session(session_handle, "xrEndFrame")
        info = read_struct(end_info, xr.FrameEndInfo, ST.FRAME_END_INFO)
        if session.begun_time is None:
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "xrEndFrame without xrBeginFrame")
        session.begun_time = None
        released, session.released_since_end = session.released_since_end, set()
        if info.display_time not in session.predicted_times:
            raise Violation(
                xr.Result.ERROR_TIME_INVALID, f"display_time {info.display_time} was never predicted by xrWaitFrame"
            )
        if info._environment_blend_mode != xr.EnvironmentBlendMode.OPAQUE:
            raise Violation(
                xr.Result.ERROR_ENVIRONMENT_BLEND_MODE_UNSUPPORTED,
                f"blend mode {info._environment_blend_mode} was not offered",
            )
        if info.layer_count > 16:
            raise Violation(xr.Result.ERROR_LAYER_LIMIT_EXCEEDED, f"{info.layer_count} layers (max 16)")
        if info.layer_count and not info._layers:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "layer_count > 0 with NULL layers")
        frame_index = session.predicted_times.index(info.display_time)
        frame_index = session.frame_index - (len(session.predicted_times) - frame_index)
        collected = [
            self._collect_layer(session, info._layers[i], info.display_time, frame_index, released)
            for i in range(info.layer_count)
        ]
        for submission in collected:
            if submission is not None:
                self.submissions.append(submission)
        del self.submissions[: -self.max_submissions or None]

    # ---------------------------------------------------------------- incidents

    def _fire(self, session: SessionObject, incident: str) -> None:
        if incident == "loss_pending":
            self._queue_state(session, SS.LOSS_PENDING)
            session.loss_pending = True
            session.target = SS.LOSS_PENDING
        elif incident == "user_exit":
            self._step_down(session, SS.STOPPING)
        elif incident == "unfocus":
            self._step_down(session, SS.VISIBLE)
        elif incident == "focus":
            session.target = SS.FOCUSED
        elif incident == "hide":
            self._step_down(session, SS.SYNCHRONIZED)
        elif incident == "instance_loss":
            instance = self._objects[session.instance]
            event = xr.EventDataInstanceLossPending()
            event.loss_time = self._now_ns() + self.display_period_ns

            def delivered() -> None:
                instance.loss_delivered = True

            self._queue(event, delivered)
        elif incident == "recenter":
            for space_type in (xr.ReferenceSpaceType.LOCAL, xr.ReferenceSpaceType.STAGE):
                if space_type not in self.reference_spaces:
                    continue
                event = xr.EventDataReferenceSpaceChangePending()
                ctypes.c_void_p.from_buffer(event, type(event).session.offset).value = session.handle
                event._reference_space_type = int(space_type)
                event.change_time = self._now_ns() + self.display_period_ns
                event.pose_valid = 0
                self._queue(event, session=session.handle)

