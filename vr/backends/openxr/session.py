"""An OpenXR session: graphics binding, reference space, swapchains, the state machine, frames.

No Panda3D here: ``HeadsetSession`` speaks OpenXR and GL handles only; the backend decides when
to call it (the GL-touching calls right after Panda3D has drawn, while the app's context is
current, as ``XR_KHR_opengl_enable`` requires).

Session states and what this class does on each (the OpenXR lifecycle):

- IDLE: nothing to render; wait. READY: ``xrBeginSession``. SYNCHRONIZED: frames run, nothing is
  shown (``shouldRender`` false). VISIBLE: shown, no input focus. FOCUSED: shown with input.
- STOPPING: ``xrEndSession`` (the runtime or the user asked to stop). LOSS_PENDING: the session
  is lost (headset unplugged, runtime crash); EXITING: the runtime wants the app to quit. Both end
  the run; the record is closed by the app as for any other ending.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from vr.backends.openxr.gl import COPYABLE_FORMATS, FORMAT_NAMES, GlContext
from vr.backends.openxr.instance import HeadsetRefused

WAIT_IMAGE_NS = 100_000_000  # a swapchain image not ready within 100 ms: skip the frame, do not hang


@dataclass
class Swapchain:
    handle: object
    width: int
    height: int
    images: list[int]            # GL texture names
    format: int


@dataclass
class FrameTiming:
    display_time: int = 0
    display_period_ns: int = 0
    should_render: bool = False


@dataclass
class Change:
    """Something the app must know from this frame's events."""

    kind: str                    # state | lost | exit | recenter | profile
    state: str = ""
    detail: str = ""


@dataclass
class HeadsetSession:
    """One OpenXR session on one instance; ``close`` tears down in reverse order of creation."""

    instance: object
    system_id: object
    gl: GlContext
    state: str = "UNKNOWN"
    running: bool = False
    session: object = None
    space: object = None
    space_kind: str = ""
    view_space: object = None
    swapchains: list[Swapchain] = field(default_factory=list)
    timing: FrameTiming = field(default_factory=FrameTiming)
    in_frame: bool = False
    states_seen: list[str] = field(default_factory=list)

    def create(self, view_sizes: list[tuple[int, int]], max_size: tuple[int, int]) -> None:
        """Session, spaces and swapchains. Call with the app's GL context current."""
        import xr

        binding = self._binding()
        self.session = xr.create_session(self.instance, xr.SessionCreateInfo(
            system_id=self.system_id, next=ctypes.cast(ctypes.pointer(binding), ctypes.c_void_p)))
        kinds = [xr.ReferenceSpaceType(int(k)) for k in xr.enumerate_reference_spaces(self.session)]
        kind = xr.ReferenceSpaceType.STAGE if xr.ReferenceSpaceType.STAGE in kinds else xr.ReferenceSpaceType.LOCAL
        self.space_kind = kind.name
        identity = xr.Posef()
        self.space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(
            reference_space_type=kind, pose_in_reference_space=identity))
        self.view_space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(
            reference_space_type=xr.ReferenceSpaceType.VIEW, pose_in_reference_space=xr.Posef()))
        offered = [int(f) for f in xr.enumerate_swapchain_formats(self.session)]
        chosen = next((f for f in COPYABLE_FORMATS if f in offered), None)
        if chosen is None:
            names = ", ".join(FORMAT_NAMES.get(f, hex(f)) for f in offered) or "none"
            raise HeadsetRefused(f"the runtime offers no 8-bit RGBA swapchain format (offered: {names})")
        for (w, h) in view_sizes:
            width, height = min(w, max_size[0]), min(h, max_size[1])
            handle = xr.create_swapchain(self.session, xr.SwapchainCreateInfo(
                usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT | xr.SwapchainUsageFlags.TRANSFER_DST_BIT,
                format=chosen, sample_count=1, width=width, height=height, face_count=1, array_size=1,
                mip_count=1))
            images = [int(img.image) for img in xr.enumerate_swapchain_images(handle, xr.SwapchainImageOpenGLKHR)]
            self.swapchains.append(Swapchain(handle, width, height, images, chosen))

    def _binding(self):
        import xr

        h = self.gl.handles
        if self.gl.kind == "egl":
            proc = ctypes.cast(ctypes.c_void_p(self.gl.proc_address_fn),
                               xr.GraphicsBindingEGLMNDX._fields_[0][1]) if self.gl.proc_address_fn else None
            binding = xr.GraphicsBindingEGLMNDX()
            if proc is not None:
                binding.get_proc_address = proc
            for name in ("display", "config", "context"):
                setattr(binding, name, ctypes.cast(ctypes.c_void_p(h[name]), dict(binding._fields_)[name]))
            return binding
        if self.gl.kind == "glx":
            binding = xr.GraphicsBindingOpenGLXlibKHR()
            fields = dict(binding._fields_)
            binding.x_display = ctypes.cast(ctypes.c_void_p(h["display"]), fields["x_display"])
            binding.visualid = h["visual"]
            binding.glx_fbconfig = ctypes.cast(ctypes.c_void_p(h["fbconfig"]), fields["glx_fbconfig"])
            binding.glx_drawable = h["drawable"]
            binding.glx_context = ctypes.cast(ctypes.c_void_p(h["context"]), fields["glx_context"])
            return binding
        binding = xr.GraphicsBindingOpenGLWin32KHR()  # pragma: no cover - Windows only
        fields = dict(binding._fields_)
        binding.h_dc = ctypes.cast(ctypes.c_void_p(h["dc"]), fields["h_dc"])
        binding.h_glrc = ctypes.cast(ctypes.c_void_p(h["context"]), fields["h_glrc"])
        return binding

    # -- events and the state machine --------------------------------------------------------------
    def poll(self) -> list[Change]:
        """Drain the runtime's events, begin or end the session as its state asks; say what changed."""
        import xr

        changes: list[Change] = []
        while True:
            try:
                buffer = xr.poll_event(self.instance)
            except xr.EventUnavailable:
                break
            kind = xr.StructureType(buffer.type)
            if kind == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                event = ctypes.cast(ctypes.byref(buffer), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
                changes.extend(self._on_state(xr.SessionState(event.state).name))
            elif kind == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING:
                changes.append(Change("lost", detail="the OpenXR instance was lost (the runtime is shutting down or restarting)"))
            elif kind == xr.StructureType.EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING:
                changes.append(Change("recenter", detail="the runtime moved the tracking origin"))
            elif kind == xr.StructureType.EVENT_DATA_INTERACTION_PROFILE_CHANGED:
                changes.append(Change("profile"))
        return changes

    def _on_state(self, name: str) -> list[Change]:
        import xr

        self.state = name
        self.states_seen.append(name)
        out = [Change("state", name)]
        if name == "READY" and not self.running:
            xr.begin_session(self.session, xr.SessionBeginInfo(xr.ViewConfigurationType.PRIMARY_STEREO))
            self.running = True
        elif name == "STOPPING" and self.running:
            self.running = False
            xr.end_session(self.session)
        elif name == "LOSS_PENDING":
            self.running = False
            out.append(Change("lost", detail="the headset session was lost (headset disconnected or runtime failure)"))
        elif name == "EXITING":
            self.running = False
            out.append(Change("exit", detail="the OpenXR runtime asked the application to quit"))
        return out

    def stop(self, max_frames: int = 120) -> None:
        """Ask the runtime to end the session and follow its states out, with empty frames meanwhile.

        The runtime answers ``xrRequestExitSession`` with STOPPING (then ``xrEndSession``); frames
        keep going until then, as the spec asks. Bounded, so a runtime that never answers cannot hang.
        """
        import xr

        if not self.running:
            return
        try:
            xr.request_exit_session(self.session)
        except xr.XrException:
            return
        for _ in range(max_frames):
            self.poll()
            if not self.running:
                return
            if self.wait_and_begin() is not None:
                self.end_frame(())

    # -- frames -------------------------------------------------------------------------------------
    def wait_and_begin(self) -> FrameTiming | None:
        """``xrWaitFrame`` (which paces the app to the display) and ``xrBeginFrame``; None if not running."""
        import xr

        if not self.running or self.in_frame:
            return None
        try:
            state = xr.wait_frame(self.session, xr.FrameWaitInfo())
            try:
                xr.begin_frame(self.session, xr.FrameBeginInfo())
            except xr.FrameDiscarded:
                pass  # the previous frame was never ended; this one goes ahead
        except (xr.SessionLostError, xr.InstanceLostError, xr.SessionNotRunningError, xr.SessionLossPending):
            self.running = False
            return None
        self.in_frame = True
        self.timing = FrameTiming(int(state.predicted_display_time), int(state.predicted_display_period),
                                  bool(state.should_render))
        return self.timing

    def locate_views(self):
        """The two eyes' poses (OpenXR frame, in our reference space) and fields of view, or None."""
        import xr

        try:
            view_state, views = xr.locate_views(self.session, xr.ViewLocateInfo(
                view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO,
                display_time=self.timing.display_time, space=self.space))
        except xr.XrException:
            return None
        flags = int(view_state.view_state_flags)
        if not (flags & int(xr.VIEW_STATE_ORIENTATION_VALID_BIT)):
            return None
        return [((tuple(v.pose.position), tuple(v.pose.orientation)), v.fov) for v in views], \
            bool(flags & int(xr.VIEW_STATE_POSITION_VALID_BIT))

    def locate(self, space) -> tuple[tuple, tuple] | None:
        """A space's pose in our reference space at the frame's display time, or None if untracked."""
        import xr

        try:
            loc = xr.locate_space(space, self.space, self.timing.display_time)
        except xr.XrException:
            return None
        flags = int(loc.location_flags)
        if not (flags & int(xr.SPACE_LOCATION_ORIENTATION_VALID_BIT)):
            return None
        return tuple(loc.pose.position), tuple(loc.pose.orientation)

    def submit(self, views, textures: list[int]) -> bool:
        """Copy each eye's texture into its swapchain and end the frame. GL context current."""
        import xr

        if not self.in_frame:
            return False
        layers = []
        proj_views = []
        if views is not None and self.timing.should_render:
            for chain, texture, (pose, fov) in zip(self.swapchains, textures, views):
                index = xr.acquire_swapchain_image(chain.handle, xr.SwapchainImageAcquireInfo())
                try:
                    xr.wait_swapchain_image(chain.handle, xr.SwapchainImageWaitInfo(timeout=WAIT_IMAGE_NS))
                except xr.TimeoutExpired:
                    proj_views = []
                    break
                self.gl.copy_texture(texture, chain.images[index], chain.width, chain.height)
                xr.release_swapchain_image(chain.handle, xr.SwapchainImageReleaseInfo())
                pv = xr.CompositionLayerProjectionView(pose=xr.Posef(xr.Quaternionf(*pose[1]), xr.Vector3f(*pose[0])),
                                                       fov=fov)
                pv.sub_image.swapchain = chain.handle
                pv.sub_image.image_rect.extent = xr.Extent2Di(chain.width, chain.height)
                proj_views.append(pv)
            if len(proj_views) == len(self.swapchains):
                self.gl.flush()
                layer = xr.CompositionLayerProjection(space=self.space, views=proj_views)
                layers.append(ctypes.byref(layer))
        return self.end_frame(layers)

    def end_frame(self, layers=()) -> bool:
        """``xrEndFrame`` with ``layers`` (none: the runtime shows nothing new). Safe without GL for none."""
        import xr

        if not self.in_frame:
            return False
        self.in_frame = False
        try:
            xr.end_frame(self.session, xr.FrameEndInfo(display_time=self.timing.display_time,
                                                       environment_blend_mode=xr.EnvironmentBlendMode.OPAQUE,
                                                       layers=list(layers)))
        except (xr.SessionLostError, xr.InstanceLostError, xr.SessionNotRunningError, xr.SessionLossPending):
            self.running = False
            return False
        return bool(layers)

    def close(self) -> None:
        """Swapchains, spaces, session: in reverse order of creation. GL context current for swapchains."""
        import xr

        for chain in reversed(self.swapchains):
            _quiet(xr.destroy_swapchain, chain.handle)
        self.swapchains = []
        for space in (self.view_space, self.space):
            if space is not None:
                _quiet(xr.destroy_space, space)
        self.view_space = self.space = None
        if self.session is not None:
            if self.running:
                _quiet(xr.end_session, self.session)
                self.running = False
            _quiet(xr.destroy_session, self.session)
            self.session = None


def _quiet(fn, *args) -> None:
    """Tear-down: one failure must not stop the rest from being released."""
    import xr

    try:
        fn(*args)
    except xr.XrException:
        pass
