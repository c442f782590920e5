"""The headset backend: Panda3D renders each eye into its own texture, OpenXR shows them.

Set-up, in order (tear-down runs in reverse): OpenXR instance and system; Panda3D with its main
window (a mirror window on a desktop, a small offscreen buffer without a display); one offscreen
buffer, camera and texture per eye at the headset's recommended size (times ``scale``); then,
right after a first draw, while Panda3D's GL context is current, the OpenXR session with that
context as its graphics binding, the reference space and the swapchains; last the controllers.

Each frame, driven by the frame loop's tasks:

- ``begin_frame`` (sort -999): runtime events and the session-state machine, ``xrWaitFrame``
  (pacing to the display) and ``xrBeginFrame``;
- ``track`` (-35): the eyes located at the predicted display time, the head between them,
  controllers; converted to the scene's frame (here and only here);
- ``place_camera`` (10): eye cameras at those poses, lenses from each eye's field of view;
- Panda3D draws (50): the eye buffers, then the mirror;
- ``vr-xr-submit`` (55): with Panda3D's context still current, the eye textures are copied into
  the swapchain images and ``xrEndFrame`` gets the projection layer;
- ``end_frame`` (1000): ends a frame that drew nothing (``shouldRender`` false) and counts the
  comfort telemetry.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import numpy as np
from panda3d.core import (
    CardMaker,
    FrameBufferProperties,
    GraphicsOutput,
    GraphicsPipe,
    NodePath,
    PerspectiveLens,
    Quat,
    Texture,
    WindowProperties,
)

from vr.backends.openxr.controllers import Controllers, ControllerState
from vr.backends.openxr.gl import current_context, current_context_handle
from vr.backends.openxr.instance import HeadsetRefused, HeadsetUnavailable, open_instance
from vr.backends.openxr.session import HeadsetSession
from vr.backends.panda import save_screenshot, start_showbase
from vr.backends.xrmath import (
    Anchor,
    Fov,
    Pose,
    film_from_fov,
    hpr_from_matrix,
    mean_pose,
    pose_to_panda,
    quat_to_matrix,
)
from vr.sim import Command, HeadPose

SUBMIT_TASK = "vr-xr-submit"
NEAR_M = 0.05
FAR_M = 200.0
OVERLAY_DISTANCE_M = 0.2


class OpenXRBackend:
    """Stereo rendering and tracking through an OpenXR runtime, behind the screen backends' interface."""

    kind = "openxr"

    def __init__(self, *, start: HeadPose, mirror_size: tuple[int, int] = (960, 540), scale: float = 1.0,
                 title: str = "vr", headless: bool | None = None) -> None:
        if headless is None:
            headless = not _display_available()
        self.headless = headless
        self.start = start
        self.alerts: deque[str] = deque()        # for the clinician (panel and record)
        self.commands: deque[Command] = deque()  # pause when the headset is no longer worn
        self.end_reason = ""
        self.anchor: Anchor | None = None
        self.rig = Anchor()                      # the glide a distraction session rides (identity otherwise)
        self.views = None
        self.head_world: Pose | None = None
        self.controllers_state: dict[str, ControllerState] = {}
        self.controllers: Controllers | None = None
        self._telemetry = {"frames": 0, "missed": 0, "not_rendered": 0, "period_ns": 0}
        self._last_display_time = 0
        self._shown_state = ""
        self._hidden = False
        self.instance, self.system_id, self.info = open_instance(headless)
        self.base = None
        try:
            self._open(mirror_size, scale, title)
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------------------------------------
    def _open(self, mirror_size: tuple[int, int], scale: float, title: str) -> None:
        self.base = start_showbase("offscreen" if self.headless else "desktop", mirror_size, title)
        base = self.base
        base.camNode.setActive(False)  # the main window only mirrors an eye; it renders no scene of its own
        self.xr = HeadsetSession(self.instance, self.system_id, gl=None)  # type: ignore[arg-type]
        sizes = [v.recommended_size for v in self.info.views]
        max_w, max_h = self.info.max_swapchain_size
        self.eye_sizes = [(min(max(16, round(w * scale)), max_w or 16384), min(max(16, round(h * scale)), max_h or 16384))
                          for w, h in sizes]
        self.eye_buffers, self.eye_textures, self.eye_cams, self.lenses = [], [], [], []
        for i, (w, h) in enumerate(self.eye_sizes):
            fb = FrameBufferProperties()
            fb.setRgbaBits(8, 8, 8, 8)
            fb.setDepthBits(24)
            buffer = base.graphicsEngine.makeOutput(base.pipe, f"xr-eye-{i}", -10 + i, fb, WindowProperties.size(w, h),
                                                    GraphicsPipe.BFRefuseWindow, base.win.getGsg(), base.win)
            if buffer is None:
                raise HeadsetRefused(f"cannot create a {w}x{h} render buffer for eye {i}; lower --xr-scale")
            texture = Texture(f"xr-eye-{i}")
            buffer.addRenderTexture(texture, GraphicsOutput.RTMBindOrCopy, GraphicsOutput.RTPColor)
            lens = PerspectiveLens()
            lens.setFocalLength(1.0)
            lens.setNearFar(NEAR_M, FAR_M)
            cam = base.makeCamera(buffer, lens=lens, camName=f"xr-eye-{i}")
            cam.reparentTo(base.render)
            self.eye_buffers.append(buffer)
            self.eye_textures.append(texture)
            self.eye_cams.append(cam)
            self.lenses.append(lens)
        self._mirror()
        # The head carries the overlay (fades, messages) seen by both eyes.
        self.head_node = base.render.attachNewNode("xr-head")
        self._overlay = self.head_node.attachNewNode("xr-overlay")
        self._overlay.setPos(0, OVERLAY_DISTANCE_M, 0)
        self._overlay.setScale(OVERLAY_DISTANCE_M * 2.5)
        self._overlay.setDepthTest(False)
        self._overlay.setDepthWrite(False)
        self._overlay.setLightOff(1)
        self._overlay.setShaderOff(1)
        self._overlay.setBin("fixed", 200)
        # Panda3D leaves its one GL context current after drawing (single-threaded pipeline): the
        # session is created, and each frame submitted, right after a draw. (Not from a display
        # region's draw callback: one of those breaks Panda3D's hardware skinning of the humans.)
        base.graphicsEngine.renderFrame()
        self._create_session()
        self.controllers = Controllers(self.instance, self.xr.session)
        base.taskMgr.add(self._submit_task, SUBMIT_TASK, sort=55)

    def _mirror(self) -> None:
        """The patient's left eye on the main window, letterboxed to keep its shape."""
        cm = CardMaker("xr-mirror")
        cm.setFrameFullscreenQuad()
        card = self.base.render2d.attachNewNode(cm.generate())
        card.setTexture(self.eye_textures[0])
        w, h = self.eye_sizes[0]
        win_w, win_h = self.base.win.getXSize(), self.base.win.getYSize()
        eye_aspect, win_aspect = w / h, win_w / max(win_h, 1)
        if eye_aspect > win_aspect:
            card.setScale(1.0, 1.0, win_aspect / eye_aspect)
        else:
            card.setScale(eye_aspect / win_aspect, 1.0, 1.0)
        card.setBin("background", 0)
        card.setDepthWrite(False)
        self.mirror_card = card

    def _create_session(self) -> None:
        gl = current_context(self.info.graphics_binding)
        self.gl_info = {"version": gl.version, "renderer": gl.renderer}
        self.xr.gl = gl
        self.xr.create(self.eye_sizes, self.info.max_swapchain_size)

    def _submit_task(self, task):
        """After Panda3D drew (sort 50): copy the eye textures into the swapchains, end the frame."""
        import xr

        if self.xr.in_frame:
            self._check_context()
            gsg = self.base.win.getGsg()
            textures = [t.prepareNow(0, gsg.getPreparedObjects(), gsg).getNativeId() for t in self.eye_textures]
            rendered = self.views is not None and all(b.isActive() for b in self.eye_buffers)
            try:
                submitted = self.xr.submit(self.views[0] if rendered else None, textures)
            except xr.XrException as e:
                self.xr.in_frame = False
                self._lost(f"the headset stopped taking frames ({type(e).__name__})")
                return task.cont
            if not submitted and self.xr.timing.should_render:
                self._telemetry["not_rendered"] += 1
        return task.cont

    def _check_context(self) -> None:
        """The GL context the runtime was given must be the current one for GL-touching calls."""
        if current_context_handle(self.info.graphics_binding) != self.xr.gl.handles["context"]:
            raise RuntimeError("Panda3D's GL context is not current after drawing; the headset backend needs "
                               "the single-threaded pipeline (threading-model must be unset)")

    # -- the interface the frame loop uses ------------------------------------------------------------
    @property
    def overlay(self) -> NodePath:
        return self._overlay

    def begin_frame(self) -> float | None:
        """Events, state machine, wait and begin. Returns the frame's step (s) from display times."""
        import xr

        try:
            for change in self.xr.poll():
                self._on_change(change)
        except xr.XrException as e:  # the runtime went away between two frames
            self._lost(f"the OpenXR runtime stopped answering ({type(e).__name__})")
        if self.end_reason:
            return None
        timing = self.xr.wait_and_begin()
        if timing is None:
            if not self.xr.running and not self.end_reason:
                _idle_wait()  # no xrWaitFrame to pace us while the session is not running
            return None
        t = self._telemetry
        t["frames"] += 1
        t["period_ns"] = timing.display_period_ns
        dt = None
        if self._last_display_time and timing.display_period_ns:
            gap = timing.display_time - self._last_display_time
            slots = int(round(gap / timing.display_period_ns))
            t["missed"] += max(0, slots - 1)  # display slots this app's frames did not fill
            dt = gap / 1e9
        self._last_display_time = timing.display_time
        return dt

    def _on_change(self, change) -> None:
        if change.kind == "state":
            state = change.state
            if state in ("SYNCHRONIZED", "IDLE", "STOPPING") and self._shown_state in ("VISIBLE", "FOCUSED"):
                self.commands.append(Command("pause", source="headset", text=f"headset {state.lower()}"))
                self.alerts.append("Headset no longer shows the session (taken off, or the runtime's menu): "
                                   "exposure paused. Resume when the patient is ready.")
                self._hidden = True
            elif state in ("VISIBLE", "FOCUSED") and self._hidden:
                self._hidden = False
                self.alerts.append("Headset shows the session again; resume when the patient is ready.")
            if state in ("SYNCHRONIZED", "VISIBLE", "FOCUSED", "IDLE", "STOPPING"):
                self._shown_state = state
        elif change.kind in ("lost", "exit"):
            self._lost(change.detail, "headset_lost" if change.kind == "lost" else "headset_exit")
        elif change.kind == "recenter":
            self.anchor = None

    def _lost(self, detail: str, reason: str = "headset_lost") -> None:
        """End the run (the frame loop closes the record as for any ending) and say why."""
        if not self.end_reason:
            self.end_reason = reason
            self.alerts.append(f"{detail}: session ended, record kept.")

    def track(self) -> tuple[HeadPose | None, dict[str, ControllerState]]:
        """The head (scene frame) and controllers at this frame's predicted display time."""
        if not self.xr.in_frame:
            self.views = None
            return None, self.controllers_state
        located = self.xr.locate_views()
        if located is None:
            self.views = None
            return None, self.controllers_state
        views, _position_valid = located
        eyes = [pose_to_panda(pos, quat) for (pos, quat), _ in views]
        head = mean_pose(eyes[0], eyes[1]) if len(eyes) == 2 else eyes[0]
        if self.anchor is None:
            self.recenter(head)
        world_eyes = [self.anchor.apply(e) for e in eyes]
        self.views = (views, world_eyes, [Fov(f.angle_left, f.angle_right, f.angle_up, f.angle_down) for _, f in views])
        self.head_world = self.anchor.apply(head)
        if self.controllers is not None:
            self.controllers_state = self.controllers.sync(self.xr.locate)
        h, p, r = hpr_from_matrix(quat_to_matrix(self.head_world.quat_xyzw))
        return HeadPose(self.head_world.position_m, h, p, r), self.controllers_state

    def recenter(self, tracked_head: Pose | None = None) -> None:
        """Put the patient's current head at the scene's place for the patient, facing its way."""
        if tracked_head is None:
            self.anchor = None  # the next tracked frame recenters
            return
        floor = self.start.position_m[2] if self.xr.space_kind == "LOCAL" else 0.0
        self.anchor = Anchor.recenter(tracked_head, self.start.position_m, self.start.yaw_deg, floor)

    def controller_world(self, state: ControllerState) -> Pose | None:
        if state.aim is None or self.anchor is None:
            return None
        return self.rig.apply(self.anchor.apply(pose_to_panda(*state.aim)))

    def set_rig(self, position_m: tuple[float, float, float], yaw_deg: float) -> None:
        """Where the patient's seat is in the scene (a distraction glide): eyes are drawn from there,
        while the head handed to the session stays in the seat's frame."""
        self.rig = Anchor(yaw_deg, (float(position_m[0]), float(position_m[1]), float(position_m[2])))

    def mirror_source(self) -> tuple[NodePath, object, tuple[int, int]]:
        """The console's mirror shows the left eye, with its lens, at its size."""
        return self.eye_cams[0], self.lenses[0], self.eye_sizes[0]

    def listener_node(self) -> NodePath:
        return self.head_node

    def describe(self) -> dict:
        """The runtime, the headset, the eyes and the swapchain, for the record."""
        from vr.backends.openxr.gl import FORMAT_NAMES

        chain = self.xr.swapchains[0]
        return {"renderer": self.gl_info["renderer"], "headset": self.info.to_dict(),
                "eye_size": [list(size) for size in self.eye_sizes], "tracking_space": self.xr.space_kind,
                "swapchain_format": FORMAT_NAMES.get(chain.format, hex(chain.format))}

    def pulse(self, hand: str, duration_s: float = 0.05, amplitude: float = 0.5) -> None:
        if self.controllers is not None:
            self.controllers.pulse(hand, duration_s, amplitude)

    def place_camera(self, head: HeadPose) -> None:
        """Eyes at their tracked poses this frame; nothing is drawn when the runtime says not to."""
        render = self.views is not None and self.xr.timing.should_render
        for buffer in self.eye_buffers:
            buffer.setActive(render)
        if not render:
            return
        _, world_eyes, fovs = self.views
        for cam, lens, pose, fov in zip(self.eye_cams, self.lenses, world_eyes, fovs):
            pose = self.rig.apply(pose)
            x, y, z, w = pose.quat_xyzw
            cam.setPos(*pose.position_m)
            cam.setQuat(Quat(w, x, y, z))
            size, offset = film_from_fov(fov)
            lens.setFilmSize(*size)
            lens.setFilmOffset(*offset)
        head = self.rig.apply(self.head_world)
        x, y, z, w = head.quat_xyzw
        self.head_node.setPos(*head.position_m)
        self.head_node.setQuat(Quat(w, x, y, z))

    def end_frame(self) -> None:
        """End a frame the draw did not end (nothing rendered), so the runtime keeps its pace."""
        if self.xr.in_frame:
            self.xr.end_frame(())

    def frame_stats(self) -> dict:
        """Comfort telemetry since the last call: display period, missed display slots, frames."""
        t = self._telemetry
        out = {"display_period_ms": round(t["period_ns"] / 1e6, 3), "xr_frames": t["frames"],
               "missed_frames": t["missed"], "not_rendered": t["not_rendered"], "headset_state": self.xr.state}
        self._telemetry = {"frames": 0, "missed": 0, "not_rendered": 0, "period_ns": t["period_ns"]}
        return out

    def set_clear_color(self, rgba: tuple[float, float, float, float]) -> None:
        for buffer in self.eye_buffers:
            buffer.setClearColor(rgba)

    def screenshot(self, path: Path) -> None:
        """The mirror window (the left eye), private like the record."""
        save_screenshot(self.base.win, path)

    def eye_pixels(self, eye: int) -> np.ndarray:
        """One eye's last rendered image as (height, width, 4) uint8, top row first (tests, docs)."""
        texture = self.eye_textures[eye]
        self.base.graphicsEngine.extractTextureData(texture, self.base.win.getGsg())
        data = np.frombuffer(texture.getRamImageAs("RGBA"), dtype=np.uint8)
        return data.reshape(texture.getYSize(), texture.getXSize(), 4)[::-1]

    def close(self) -> None:
        """Controllers, swapchains, session, Panda3D, instance: the reverse of set-up."""
        import xr

        if getattr(self, "controllers", None) is not None:
            self.controllers.close()
            self.controllers = None
        if self.base is not None and getattr(self, "xr", None) is not None:
            try:
                self.xr.stop()
            except Exception:
                pass  # a runtime that fails while stopping still gets its objects destroyed below
            self.base.taskMgr.remove(SUBMIT_TASK)
            self.base.graphicsEngine.renderFrame()  # leaves the context current: swapchains go with it
            self.xr.close()
        if self.base is not None:
            for buffer in getattr(self, "eye_buffers", []):
                self.base.graphicsEngine.removeWindow(buffer)
            self.base.destroy()
            self.base = None
        if self.instance is not None:
            try:
                xr.destroy_instance(self.instance)
            except xr.XrException:
                pass
            self.instance = None


def _display_available() -> bool:
    return os.name == "nt" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _idle_wait() -> None:
    import time

    time.sleep(0.02)


__all__ = ["HeadsetRefused", "HeadsetUnavailable", "OpenXRBackend"]
