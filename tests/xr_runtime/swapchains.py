"""OpenGL swapchains and the checks on composition layers submitted by xrEndFrame.

Each swapchain owns three immutable GL textures (one, acquired once, for a static
swapchain) created in the application's context.  Flags with bits OpenXR 1.0 does not
define are refused.  Acquire/wait/release follow the spec's ordering rules.  With
``runtime.capture`` set, every released image is read back (row 0 = top) and
attached, cropped to the submitted ``image_rect``, to the frame's
:class:`Submission`.  Image rects use GL's convention: ``y`` counts rows from
the bottom of the texture.
"""

from __future__ import annotations

import ctypes
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xr

from .common import Violation, XrError, read_struct, structure_type_at, two_call, write_u64, xr_function
from .poses import Pose, is_unit
from .records import Submission, SubmittedView

ST = xr.StructureType
IMAGE_COUNT = 3
PROTECTED_CONTENT = 0x1
STATIC_IMAGE = 0x2
CREATE_FLAGS = PROTECTED_CONTENT | STATIC_IMAGE
USAGE_FLAGS = 0x7F  # COLOR_ATTACHMENT .. MUTABLE_FORMAT: the bits OpenXR 1.0 defines
LAYER_FLAGS = 0x7   # CORRECT_CHROMATIC_ABERRATION, BLEND_TEXTURE_SOURCE_ALPHA, UNPREMULTIPLIED_ALPHA


@dataclass
class SwapchainObject:
    """Runtime-side state of an XrSwapchain (sizes in pixels)."""

    handle: int
    session: int
    format: int
    width: int
    height: int
    textures: list[int]
    acquired: deque[list[Any]] = field(default_factory=deque)  # [image index, waited?] oldest first
    next_index: int = 0
    static: bool = False         # XR_SWAPCHAIN_CREATE_STATIC_IMAGE_BIT: one image, acquired once
    acquisitions: int = 0
    released_pixels: np.ndarray | None = None


class SwapchainsMixin:
    """xrEnumerateSwapchainFormats .. xrReleaseSwapchainImage and layer validation."""

    def _swapchain(self, handle: Any) -> tuple[SwapchainObject, Any]:
        swapchain = self._get(handle, SwapchainObject, "XrSwapchain")
        return swapchain, self._session(swapchain.session)

    @xr_function("xrEnumerateSwapchainFormats")
    def _enumerate_swapchain_formats(self, session_handle: Any, capacity: int, count_out: Any, formats: Any) -> int:
        self._session(session_handle)
        array = ctypes.cast(formats, ctypes.POINTER(ctypes.c_int64))
        return two_call(capacity, count_out, list(self.swapchain_formats), lambda i, f: array.__setitem__(i, f))

    @xr_function("xrCreateSwapchain")
    def _create_swapchain(self, session_handle: Any, create_info: Any, swapchain_out: Any) -> None:
        session = self._session(session_handle)
        info = read_struct(create_info, xr.SwapchainCreateInfo, ST.SWAPCHAIN_CREATE_INFO)
        if info.format not in self.swapchain_formats:
            raise Violation(
                xr.Result.ERROR_SWAPCHAIN_FORMAT_UNSUPPORTED, f"format {info.format:#x} was not enumerated"
            )
        if info._create_flags & ~CREATE_FLAGS:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"createFlags {info._create_flags:#x}: undefined bits")
        if info._usage_flags & ~USAGE_FLAGS:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"usageFlags {info._usage_flags:#x}: undefined bits")
        if info._create_flags & PROTECTED_CONTENT:
            raise XrError(xr.Result.ERROR_FEATURE_UNSUPPORTED, "protected content")
        if not 1 <= info.width <= self.max_size[0] or not 1 <= info.height <= self.max_size[1]:
            raise Violation(
                xr.Result.ERROR_VALIDATION_FAILURE, f"swapchain size {info.width}x{info.height} outside 1..max_size"
            )
        if not 1 <= info.sample_count <= self.max_samples:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"sample_count {info.sample_count} outside 1..max")
        if info.sample_count != 1 or info.face_count != 1 or info.array_size != 1 or info.mip_count != 1:
            raise XrError(xr.Result.ERROR_FEATURE_UNSUPPORTED, "only 1 sample, 1 face, 1 layer, 1 mip")
        self._check_context(session)
        static = bool(info._create_flags & STATIC_IMAGE)
        textures = session.gl.create_textures(1 if static else IMAGE_COUNT, info.format, info.width, info.height)
        errors = session.gl.drain_errors()
        if errors:
            session.gl.delete_textures(textures)
            self.errors.append(f"xrCreateSwapchain: GL errors {[hex(e) for e in errors]}")
            raise XrError(xr.Result.ERROR_RUNTIME_FAILURE)
        swapchain = SwapchainObject(0, session.handle, info.format, info.width, info.height, textures, static=static)
        handle = self._new_handle(swapchain)
        session.swapchains.append(handle)
        write_u64(swapchain_out, handle)

    @xr_function("xrDestroySwapchain")
    def _destroy_swapchain(self, swapchain_handle: Any) -> None:
        swapchain = self._get(swapchain_handle, SwapchainObject, "XrSwapchain")
        self._destroy_swapchain_object(swapchain.handle, require_context=True)

    def _destroy_swapchain_object(self, handle: int, require_context: bool) -> None:
        swapchain = self._objects[handle]
        session = self._objects[swapchain.session]
        if session.current_context() == session.context:
            session.gl.delete_textures(swapchain.textures)
        elif require_context:
            self._check_context(session)
        session.swapchains.remove(handle)
        del self._objects[handle]

    @xr_function("xrEnumerateSwapchainImages")
    def _enumerate_swapchain_images(self, swapchain_handle: Any, capacity: int, count_out: Any, images: Any) -> int:
        swapchain, _ = self._swapchain(swapchain_handle)
        array = ctypes.cast(images, ctypes.POINTER(xr.SwapchainImageOpenGLKHR))

        def write(index: int, texture: int) -> None:
            image = array[index]
            if image.type != ST.SWAPCHAIN_IMAGE_OPENGL_KHR:
                raise Violation(
                    xr.Result.ERROR_VALIDATION_FAILURE, "swapchain image structs must be XrSwapchainImageOpenGLKHR"
                )
            image.image = texture

        return two_call(capacity, count_out, swapchain.textures, write)

    @xr_function("xrAcquireSwapchainImage")
    def _acquire_swapchain_image(self, swapchain_handle: Any, acquire_info: Any, index_out: Any) -> None:
        swapchain, session = self._swapchain(swapchain_handle)
        if acquire_info:
            read_struct(acquire_info, xr.SwapchainImageAcquireInfo, ST.SWAPCHAIN_IMAGE_ACQUIRE_INFO)
        self._check_context(session)
        if len(swapchain.acquired) >= len(swapchain.textures):
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "every image is already acquired")
        if swapchain.static and swapchain.acquisitions:
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "a static swapchain's image is acquired once only")
        swapchain.acquisitions += 1
        index = swapchain.next_index
        swapchain.next_index = (index + 1) % len(swapchain.textures)
        swapchain.acquired.append([index, False])
        ctypes.c_uint32.from_address(ctypes.cast(index_out, ctypes.c_void_p).value).value = index

    @xr_function("xrWaitSwapchainImage")
    def _wait_swapchain_image(self, swapchain_handle: Any, wait_info: Any) -> None:
        swapchain, session = self._swapchain(swapchain_handle)
        read_struct(wait_info, xr.SwapchainImageWaitInfo, ST.SWAPCHAIN_IMAGE_WAIT_INFO)
        self._check_context(session)
        if any(waited for _, waited in swapchain.acquired):
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "an image is already waited and not released")
        if not swapchain.acquired:
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "xrWaitSwapchainImage with no image acquired")
        swapchain.acquired[0][1] = True

    @xr_function("xrReleaseSwapchainImage")
    def _release_swapchain_image(self, swapchain_handle: Any, release_info: Any) -> None:
        swapchain, session = self._swapchain(swapchain_handle)
        if release_info:
            read_struct(release_info, xr.SwapchainImageReleaseInfo, ST.SWAPCHAIN_IMAGE_RELEASE_INFO)
        self._check_context(session)
        if not swapchain.acquired or not swapchain.acquired[0][1]:
            raise Violation(xr.Result.ERROR_CALL_ORDER_INVALID, "xrReleaseSwapchainImage before xrWaitSwapchainImage")
        index, _ = swapchain.acquired.popleft()
        session.released_since_end.add(swapchain.handle)
        if self.capture:
            pixels = session.gl.read_texture(swapchain.textures[index], swapchain.width, swapchain.height)
            swapchain.released_pixels = pixels
        else:
            swapchain.released_pixels = None

    # ----------------------------------------------------------------- layers

    def _collect_layer(
        self, session: Any, layer_pointer: Any, display_time: int, frame_index: int, released: set[int]
    ) -> Submission | None:
        """Validate one layer of xrEndFrame; a :class:`Submission` for projection layers."""
        address = ctypes.cast(layer_pointer, ctypes.c_void_p).value
        if not address:
            raise Violation(xr.Result.ERROR_LAYER_INVALID, "NULL layer pointer")
        kind = structure_type_at(address)
        if kind == ST.COMPOSITION_LAYER_QUAD:
            layer = xr.CompositionLayerQuad.from_address(address)
            self._check_layer_flags(layer)
            self._layer_space(session, layer.space)
            self._layer_swapchain(session, layer.sub_image, released)
            return None
        if kind != ST.COMPOSITION_LAYER_PROJECTION:
            raise Violation(xr.Result.ERROR_LAYER_INVALID, f"unsupported layer type {kind}")
        layer = xr.CompositionLayerProjection.from_address(address)
        self._check_layer_flags(layer)
        space = self._layer_space(session, layer.space)
        if layer.view_count != 2 or not layer._views:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"projection layer with {layer.view_count} views")
        views = []
        for eye in range(2):
            view = layer._views[eye]
            if view.type != ST.COMPOSITION_LAYER_PROJECTION_VIEW:
                raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "projection view type not set")
            pose = Pose.from_xr(view.pose)
            if not is_unit(pose.orientation):
                raise Violation(xr.Result.ERROR_POSE_INVALID, f"eye {eye} pose orientation is not unit length")
            swapchain, rect = self._layer_swapchain(session, view.sub_image, released)
            pixels = None
            if self.capture and swapchain.released_pixels is not None:
                x, y, w, h = rect
                pixels = np.ascontiguousarray(swapchain.released_pixels[y : y + h, x : x + w][::-1])
            fov = (view.fov.angle_left, view.fov.angle_right, view.fov.angle_up, view.fov.angle_down)
            views.append(SubmittedView(pose, fov, rect, swapchain.handle, view.sub_image.image_array_index, pixels))
        return Submission(
            frame_index, display_time, space.kind, space.offset, int(layer._layer_flags), tuple(views)
        )

    def _check_layer_flags(self, layer: Any) -> None:
        if layer._layer_flags & ~LAYER_FLAGS:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"layerFlags {layer._layer_flags:#x}: undefined bits")

    def _layer_space(self, session: Any, handle: Any) -> Any:
        space = self._space(handle)
        if space.session != session.handle:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "layer space belongs to another session")
        return space

    def _layer_swapchain(
        self, session: Any, sub_image: Any, released: set[int]
    ) -> tuple[SwapchainObject, tuple[int, int, int, int]]:
        swapchain, _ = self._swapchain(sub_image.swapchain)
        if swapchain.session != session.handle:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "layer swapchain belongs to another session")
        if swapchain.handle not in released:
            raise Violation(
                xr.Result.ERROR_LAYER_INVALID, f"swapchain {swapchain.handle:#x} had no image released this frame"
            )
        rect = sub_image.image_rect
        x, y, w, h = rect.offset.x, rect.offset.y, rect.extent.width, rect.extent.height
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > swapchain.width or y + h > swapchain.height:
            raise Violation(
                xr.Result.ERROR_SWAPCHAIN_RECT_INVALID,
                f"image_rect {(x, y, w, h)} outside the {swapchain.width}x{swapchain.height} swapchain",
            )
        if sub_image.image_array_index != 0:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "image_array_index must be 0 (array size 1)")
        return swapchain, (x, y, w, h)


