"""The emulated headset as an OpenXR system: properties, view configuration, blend modes.

One system (id ``SYSTEM_ID``) with the HEAD_MOUNTED_DISPLAY form factor, one
PRIMARY_STEREO view configuration (two views, sizes in pixels from
``runtime.recommended_size`` / ``max_size``) and the OPAQUE blend mode.
"""

from __future__ import annotations

import ctypes
from typing import Any

import xr

from .common import Violation, XrError, read_struct, two_call, write_u64, xr_function

SYSTEM_ID = 0x7E57
VENDOR_ID = 0x7E57
PRIMARY_STEREO = int(xr.ViewConfigurationType.PRIMARY_STEREO)
OPAQUE = int(xr.EnvironmentBlendMode.OPAQUE)


class SystemMixin:
    """xrGetSystem .. xrEnumerateViewConfigurationViews."""

    def _check_system(self, system_id: int) -> None:
        if system_id != SYSTEM_ID:
            raise Violation(xr.Result.ERROR_SYSTEM_INVALID, f"system id {system_id:#x} was not returned by xrGetSystem")

    @xr_function("xrGetSystem")
    def _get_system(self, instance_handle: Any, get_info: Any, system_out: Any) -> None:
        self._instance(instance_handle)
        info = read_struct(get_info, xr.SystemGetInfo, xr.StructureType.SYSTEM_GET_INFO)
        if info._form_factor == xr.FormFactor.HEAD_MOUNTED_DISPLAY:
            write_u64(system_out, SYSTEM_ID)
        elif info._form_factor == xr.FormFactor.HANDHELD_DISPLAY:
            raise XrError(xr.Result.ERROR_FORM_FACTOR_UNAVAILABLE)
        else:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, f"form factor {info._form_factor} is not valid")

    @xr_function("xrGetSystemProperties")
    def _get_system_properties(self, instance_handle: Any, system_id: int, properties: Any) -> None:
        self._instance(instance_handle)
        self._check_system(system_id)
        props = read_struct(properties, xr.SystemProperties, xr.StructureType.SYSTEM_PROPERTIES)
        props.system_id = SYSTEM_ID
        props.vendor_id = VENDOR_ID
        props.system_name = self.system_name.encode()[:255]
        props.graphics_properties.max_swapchain_image_width = self.max_size[0]
        props.graphics_properties.max_swapchain_image_height = self.max_size[1]
        props.graphics_properties.max_layer_count = 16
        props.tracking_properties.orientation_tracking = 1
        props.tracking_properties.position_tracking = 1

    @xr_function("xrEnumerateEnvironmentBlendModes")
    def _enumerate_blend_modes(
        self, instance_handle: Any, system_id: int, view_type: int, capacity: int, count_out: Any, modes: Any
    ) -> int:
        self._instance(instance_handle)
        self._check_system(system_id)
        self._check_view_configuration(view_type)
        array = ctypes.cast(modes, ctypes.POINTER(ctypes.c_int))
        return two_call(capacity, count_out, [OPAQUE], lambda index, mode: array.__setitem__(index, mode))

    @xr_function("xrEnumerateViewConfigurations")
    def _enumerate_view_configurations(
        self, instance_handle: Any, system_id: int, capacity: int, count_out: Any, types: Any
    ) -> int:
        self._instance(instance_handle)
        self._check_system(system_id)
        array = ctypes.cast(types, ctypes.POINTER(ctypes.c_int))
        return two_call(capacity, count_out, [PRIMARY_STEREO], lambda index, kind: array.__setitem__(index, kind))

    def _check_view_configuration(self, view_type: int) -> None:
        if view_type != PRIMARY_STEREO:
            raise XrError(xr.Result.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)

    @xr_function("xrGetViewConfigurationProperties")
    def _get_view_configuration_properties(
        self, instance_handle: Any, system_id: int, view_type: int, properties: Any
    ) -> None:
        self._instance(instance_handle)
        self._check_system(system_id)
        self._check_view_configuration(view_type)
        props = read_struct(
            properties, xr.ViewConfigurationProperties, xr.StructureType.VIEW_CONFIGURATION_PROPERTIES
        )
        props._view_configuration_type = PRIMARY_STEREO
        props.fov_mutable = 0

    @xr_function("xrEnumerateViewConfigurationViews")
    def _enumerate_view_configuration_views(
        self, instance_handle: Any, system_id: int, view_type: int, capacity: int, count_out: Any, views: Any
    ) -> int:
        self._instance(instance_handle)
        self._check_system(system_id)
        self._check_view_configuration(view_type)
        array = ctypes.cast(views, ctypes.POINTER(xr.ViewConfigurationView))

        def write(index: int, _eye: str) -> None:
            view = array[index]
            if view.type != xr.StructureType.VIEW_CONFIGURATION_VIEW:
                raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "ViewConfigurationView.type not set")
            view.recommended_image_rect_width, view.recommended_image_rect_height = self.recommended_size
            view.max_image_rect_width, view.max_image_rect_height = self.max_size
            view.recommended_swapchain_sample_count = self.recommended_samples
            view.max_swapchain_sample_count = self.max_samples

        return two_call(capacity, count_out, ["left", "right"], write)

