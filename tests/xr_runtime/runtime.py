"""A scriptable OpenXR 1.0 runtime for tests, reached through the real OpenXR loader.

Why: the application's OpenXR backend can be exercised end to end (loader,
pyopenxr, GL swapchains, the session state machine, controllers) on a machine
without a headset or display.  The loader finds the runtime through
``XR_RUNTIME_JSON`` (the ``xr_runtime`` fixture in ``plugin.py`` sets it); a
small C shim (``shim.c``) forwards every function lookup to
:meth:`FakeRuntime.get_instance_proc_addr`, which hands out ctypes callbacks
implemented in Python.  The runtime emulates one head-mounted display with two
tracked controllers, a desktop-OpenGL compositor (XR_KHR_opengl_enable, with an
EGL binding through XR_MNDX_egl_enable or an Xlib/GLX binding) and the session
life cycle, and it checks the application's calls against the spec.

Frames and units: OpenXR conventions (metres, +Y up, -Z forward, right-handed,
quaternions x, y, z, w, times in nanoseconds).  Poses set on the runtime are in
STAGE space, whose origin is on the floor; LOCAL is STAGE raised by
``local_height_m``.

Knobs (plain attributes; set them before the application creates its instance
unless noted):

* ``runtime_name``, ``runtime_version`` (major, minor, patch), ``system_name``
* ``extensions``: offered extension -> spec version; delete one to refuse it (the
  loader itself then fails xrCreateInstance with XR_ERROR_EXTENSION_NOT_PRESENT)
* ``recommended_size`` / ``max_size`` (per eye, pixels), ``recommended_samples`` / ``max_samples``
* ``swapchain_formats``: GL internal formats offered, preferred first; ``gl_version_range``
  ((major, minor) min, max) for xrGetOpenGLGraphicsRequirementsKHR
* ``reference_spaces``: offered ``xr.ReferenceSpaceType`` values; ``local_height_m``;
  ``stage_bounds_m`` (width along X, depth along Z, metres)
* ``eye_fovs``: (left eye, right eye), each (angle_left, angle_right, angle_up, angle_down) radians; ``ipd_m``
* ``head_pose``: a :class:`Pose` or (position, quaternion), STAGE space; ``head_path(frame_index)``
  returning (position, quaternion) overrides it on every xrWaitFrame.  Both may change at any time.
* ``controllers``: {"left"|"right": :class:`ControllerState`}, read at every xrSyncActions / xrLocateSpace;
  ``interaction_profile``: the physical controllers' profile
* ``display_period_ns``; ``pace`` (sleep in xrWaitFrame to keep the period; off by default);
  ``capture`` (read back eye images at xrReleaseSwapchainImage); ``max_submissions``
* :meth:`schedule`: scripted incidents by frame index (listed in ``session.py``)

Records for assertions: ``instance_info``, ``binding`` ("egl"/"xlib"), ``states``
(session states the application has received through xrPollEvent, in order),
``calls`` (Counter of function names called), ``lookups`` and ``unsupported``
(function names asked of the runtime, and those it does not implement),
``submissions`` (the last ``max_submissions`` projection layers), ``discarded_frames``,
``suggested`` (profile -> [(action name, binding path)]), ``haptics``
([(hand, duration_ns, frequency_hz, amplitude)]), ``haptic_stops`` ([hand]),
``live_instances``, ``violations`` (protocol errors by the application: each call
also returned the spec's error code) and ``errors`` (tracebacks of exceptions
inside the runtime, returned as XR_ERROR_RUNTIME_FAILURE).  Both of the last two
should be empty after a clean run.
"""

from __future__ import annotations

import ctypes
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xr

from . import common
from .action_state import ActionStateMixin
from .actions import ActionsMixin
from .common import SUCCESS, Violation, XrError, address_of, decode, read_struct, two_call, write_u64, xr_function
from .gl import GL_RGBA8, GL_SRGB8_ALPHA8
from .poses import Pose
from .records import ControllerState, Fov, InstanceInfo, Submission
from .session import INCIDENTS, SessionMixin
from .spaces import SpacesMixin
from .swapchains import SwapchainsMixin
from .system import SystemMixin

RST = xr.ReferenceSpaceType
GLOBAL_FUNCTIONS = ("xrEnumerateInstanceExtensionProperties", "xrEnumerateApiLayerProperties", "xrCreateInstance")
EXTENSION_FUNCTIONS = {"xrGetOpenGLGraphicsRequirementsKHR": "XR_KHR_opengl_enable"}
TO_STRING = ctypes.CFUNCTYPE(ctypes.c_int, xr.Instance, ctypes.c_int, ctypes.c_void_p)


@dataclass
class InstanceObject:
    """Runtime-side state of an XrInstance."""

    handle: int
    extensions: frozenset[str]
    info: InstanceInfo
    graphics_requirements_queried: bool = False
    loss_delivered: bool = False
    lost: bool = False
    sessions: list[int] = field(default_factory=list)


@dataclass
class QueuedEvent:
    """An event waiting for xrPollEvent; ``on_delivery`` runs when the application receives it."""

    struct: ctypes.Structure
    on_delivery: Callable[[], None] | None = None
    session: int = 0


class FakeRuntime(SystemMixin, SessionMixin, SpacesMixin, SwapchainsMixin, ActionsMixin, ActionStateMixin):
    """The test runtime: configuration knobs, recorded history and the OpenXR entry points."""

    def __init__(self, handle_base: int = 0x1000) -> None:
        """``handle_base``: handles count up from here (the fixture gives each test its own range,
        so a handle kept from an earlier test is rejected instead of aliasing a new object)."""
        self.runtime_name = "vr test runtime"
        self.runtime_version = (0, 1, 0)
        self.system_name = "Test HMD"
        self.extensions: dict[str, int] = {"XR_KHR_opengl_enable": 10, "XR_MNDX_egl_enable": 2}
        self.recommended_size = (192, 160)
        self.max_size = (2048, 2048)
        self.recommended_samples = 1
        self.max_samples = 4
        self.swapchain_formats: list[int] = [GL_SRGB8_ALPHA8, GL_RGBA8]
        self.gl_version_range = ((3, 3), (4, 6))
        self.reference_spaces: list[xr.ReferenceSpaceType] = [RST.VIEW, RST.LOCAL, RST.STAGE]
        self.local_height_m = 1.6
        self.stage_bounds_m = (2.0, 3.0)
        self.eye_fovs: tuple[Fov, Fov] = ((-0.95, 0.80, 0.85, -0.90), (-0.80, 0.95, 0.85, -0.90))
        self.ipd_m = 0.064
        self.head_pose = Pose((0.0, 1.65, 0.0))
        self.head_path: Callable[[int], tuple[Any, Any]] | None = None
        self.controllers: dict[str, ControllerState] = {
            "left": ControllerState(position=(-0.2, 1.2, -0.3)),
            "right": ControllerState(position=(0.2, 1.2, -0.3)),
        }
        self.interaction_profile = "/interaction_profiles/oculus/touch_controller"
        self.display_period_ns = 11_111_111
        self.pace = False
        self.capture = False
        self.max_submissions = 8

        self.instance_info: InstanceInfo | None = None
        self.binding: str | None = None
        self.states: list[xr.SessionState] = []
        self.calls: Counter[str] = Counter()
        self.lookups: Counter[str] = Counter()
        self.unsupported: set[str] = set()
        self.submissions: list[Submission] = []
        self.errors: list[str] = []
        self.violations: list[str] = []
        self.discarded_frames = 0

        self._objects: dict[int, Any] = {}
        self._next_handle = int(handle_base)
        self._events: deque[QueuedEvent] = deque()
        self._callbacks: dict[str, Any] = {}
        self._schedule: dict[int, list[str]] = {}
        self._init_session_state()
        self._init_actions()

    # ----------------------------------------------------------------- scripting

    def schedule(self, frame_index: int, incident: str) -> None:
        """Fire ``incident`` during the xrWaitFrame with this index (0 = first after xrBeginSession).

        Incidents: "loss_pending", "user_exit", "unfocus", "focus", "hide",
        "instance_loss", "recenter" (see the session module).
        """
        if incident not in INCIDENTS:
            raise ValueError(f"unknown incident {incident!r}; expected one of {sorted(INCIDENTS)}")
        self._schedule.setdefault(int(frame_index), []).append(incident)

    @property
    def live_instances(self) -> list[int]:
        """Handles of instances not yet destroyed."""
        return [h for h, obj in self._objects.items() if isinstance(obj, InstanceObject)]

    # ------------------------------------------------------------------ dispatch

    def get_instance_proc_addr(self, instance: Any, name: bytes, function: Any) -> int:
        """The shim's lookup handler: store a callback for ``name`` through ``function``."""
        try:
            text = name.decode()
            self.lookups[text] += 1
            callback = self._lookup(text, common.handle_value(instance))
            if callback is None:
                self.unsupported.add(text)
                return int(xr.Result.ERROR_FUNCTION_UNSUPPORTED)
            ctypes.c_void_p.from_address(address_of(function)).value = ctypes.cast(callback, ctypes.c_void_p).value
            return SUCCESS
        except BaseException:  # noqa: BLE001  (nothing may unwind into the loader's C frames)
            self.errors.append(f"xrGetInstanceProcAddr:\n{traceback.format_exc()}")
            return int(xr.Result.ERROR_RUNTIME_FAILURE)

    def _lookup(self, name: str, instance: int) -> Any:
        if not self._callbacks:
            for attribute in dir(type(self)):
                method = getattr(type(self), attribute, None)
                xr_name = getattr(method, "xr_name", None)
                if xr_name:
                    prototype = method.xr_prototype or getattr(xr, f"PFN_{xr_name}")
                    self._callbacks[xr_name] = self._wrap(xr_name, getattr(self, attribute), prototype)
        if name not in self._callbacks:
            return None
        if not instance:
            return self._callbacks[name] if name in GLOBAL_FUNCTIONS else None
        extension = EXTENSION_FUNCTIONS.get(name)
        if extension is not None:
            owner = self._objects.get(instance)
            if not isinstance(owner, InstanceObject) or extension not in owner.extensions:
                return None
        return self._callbacks[name]

    def _wrap(self, name: str, method: Callable[..., Any], prototype: Any) -> Any:
        """``method`` as a C callback that never lets an exception escape into C."""

        def call(*args: Any) -> int:
            self.calls[name] += 1
            try:
                result = method(*args)
            except Violation as exc:
                self.violations.append(f"{name}: {exc}")
                return exc.code
            except XrError as exc:
                return exc.code
            except BaseException:  # noqa: BLE001  (nothing may unwind into the loader's C frames)
                self.errors.append(f"{name}:\n{traceback.format_exc()}")
                return int(xr.Result.ERROR_RUNTIME_FAILURE)
            return SUCCESS if result is None else int(result)

        return prototype(call)

    # ------------------------------------------------------------------- handles

    def _new_handle(self, obj: Any) -> int:
        """Register ``obj`` under a fresh non-zero handle (also stored as ``obj.handle``)."""
        self._next_handle += 1
        self._objects[self._next_handle] = obj
        obj.handle = self._next_handle
        return self._next_handle

    def _get(self, handle: Any, kind: type, what: str) -> Any:
        value = common.handle_value(handle)
        obj = self._objects.get(value)
        if not isinstance(obj, kind):
            raise Violation(xr.Result.ERROR_HANDLE_INVALID, f"{what} handle {value:#x} is not a live {what}")
        return obj

    def _instance(self, handle: Any, *, allow_lost: bool = False) -> InstanceObject:
        instance = self._get(handle, InstanceObject, "XrInstance")
        if instance.lost and not allow_lost:
            raise XrError(xr.Result.ERROR_INSTANCE_LOST)
        return instance

    def _queue(
        self, struct: ctypes.Structure, on_delivery: Callable[[], None] | None = None, *, session: int = 0
    ) -> None:
        """Append an event for xrPollEvent (``session``: the session it concerns, if any)."""
        self._events.append(QueuedEvent(struct, on_delivery, session))

    # ------------------------------------------------------------------ instance

    @xr_function("xrEnumerateApiLayerProperties")
    def _enumerate_api_layers(self, capacity: int, count_out: Any, properties: Any) -> int:
        return two_call(capacity, count_out, [], lambda index, item: None)

    @xr_function("xrEnumerateInstanceExtensionProperties")
    def _enumerate_extensions(self, layer_name: bytes | None, capacity: int, count_out: Any, properties: Any) -> int:
        if layer_name:
            raise XrError(xr.Result.ERROR_API_LAYER_NOT_PRESENT)
        items = list(self.extensions.items())
        array = ctypes.cast(properties, ctypes.POINTER(xr.ExtensionProperties))

        def write(index: int, item: tuple[str, int]) -> None:
            entry = array[index]
            if entry.type != xr.StructureType.EXTENSION_PROPERTIES:
                raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "ExtensionProperties.type not set")
            entry.extension_name = item[0].encode()
            entry.extension_version = item[1]

        return two_call(capacity, count_out, items, write)

    @xr_function("xrCreateInstance")
    def _create_instance(self, create_info: Any, instance_out: Any) -> None:
        info = read_struct(create_info, xr.InstanceCreateInfo, xr.StructureType.INSTANCE_CREATE_INFO)
        app = info.application_info
        version = xr.Version(app._api_version)
        if not decode(app.application_name):
            raise Violation(xr.Result.ERROR_NAME_INVALID, "empty application name")
        if (version.major, version.minor) != (1, 0):
            raise XrError(xr.Result.ERROR_API_VERSION_UNSUPPORTED)
        names = [info._enabled_extension_names[i].decode() for i in range(info.enabled_extension_count)]
        for name in names:
            if name not in self.extensions:
                raise XrError(xr.Result.ERROR_EXTENSION_NOT_PRESENT)
        if "XR_MNDX_egl_enable" in names and "XR_KHR_opengl_enable" not in names:
            raise Violation(
                xr.Result.ERROR_EXTENSION_DEPENDENCY_NOT_ENABLED, "XR_MNDX_egl_enable needs XR_KHR_opengl_enable"
            )
        if self.live_instances:
            raise XrError(xr.Result.ERROR_LIMIT_REACHED)
        self.instance_info = InstanceInfo(
            application_name=decode(app.application_name),
            application_version=app.application_version,
            engine_name=decode(app.engine_name),
            engine_version=app.engine_version,
            api_version=(version.major, version.minor, version.patch),
            extensions=tuple(names),
        )
        handle = self._new_handle(InstanceObject(0, frozenset(names), self.instance_info))
        write_u64(instance_out, handle)

    @xr_function("xrDestroyInstance")
    def _destroy_instance(self, instance_handle: Any) -> None:
        instance = self._instance(instance_handle, allow_lost=True)
        for session in list(instance.sessions):
            self._destroy_session_object(session)
        self._destroy_action_objects(instance.handle)
        self._events.clear()
        del self._objects[instance.handle]

    @xr_function("xrGetInstanceProperties")
    def _get_instance_properties(self, instance_handle: Any, properties: Any) -> None:
        self._instance(instance_handle)
        props = read_struct(properties, xr.InstanceProperties, xr.StructureType.INSTANCE_PROPERTIES)
        props._runtime_version = xr.Version(*self.runtime_version).number()
        props.runtime_name = self.runtime_name.encode()[:127]

    @xr_function("xrPollEvent")
    def _poll_event(self, instance_handle: Any, buffer: Any) -> int:
        self._instance(instance_handle)
        read_struct(buffer, xr.EventDataBuffer, xr.StructureType.EVENT_DATA_BUFFER)
        if not self._events:
            return int(xr.Result.EVENT_UNAVAILABLE)
        event = self._events.popleft()
        ctypes.memmove(address_of(buffer), ctypes.addressof(event.struct), ctypes.sizeof(event.struct))
        if event.on_delivery is not None:
            event.on_delivery()
        return SUCCESS

    @xr_function("xrResultToString", TO_STRING)
    def _result_to_string(self, instance_handle: Any, value: int, buffer: Any) -> None:
        self._instance(instance_handle)
        try:
            text = "XR_" + xr.Result(value).name
        except ValueError:
            text = f"XR_UNKNOWN_{'SUCCESS' if value >= 0 else 'FAILURE'}_{value}"
        _write_name(buffer, text)

    @xr_function("xrStructureTypeToString", TO_STRING)
    def _structure_type_to_string(self, instance_handle: Any, value: int, buffer: Any) -> None:
        self._instance(instance_handle)
        text = common.type_name(value) if value in xr.StructureType._value2member_map_ else (
            f"XR_UNKNOWN_STRUCTURE_TYPE_{value}"
        )
        _write_name(buffer, text)


def _write_name(buffer: int | None, text: str) -> None:
    """Copy ``text`` into a 64-byte XR_MAX_RESULT_STRING_SIZE / XR_MAX_STRUCTURE_NAME_SIZE buffer."""
    if not buffer:
        raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "NULL output buffer")
    data = text.encode()[:63] + b"\0"
    ctypes.memmove(buffer, data, len(data))
