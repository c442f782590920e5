"""Reference and action spaces, xrLocateSpace and xrLocateViews.

Everything is computed in STAGE space (origin on the floor, metres, +Y up,
-Z forward).  LOCAL is STAGE translated up by ``runtime.local_height_m``; VIEW
follows the head pose predicted for the requested display time; action spaces
follow the controller the action is bound to.  Each space may carry an offset
pose (``pose_in_reference_space`` / ``pose_in_action_space``).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import xr

from .common import Violation, XrError, find_in_chain, read_struct, two_call, write_u64, xr_function
from .poses import Pose, is_unit

ST = xr.StructureType
RST = xr.ReferenceSpaceType
LOCATED = int(xr.SpaceLocationFlags.ALL)
VIEW_LOCATED = int(xr.ViewStateFlags.ALL)


@dataclass
class SpaceObject:
    """Runtime-side state of an XrSpace: ``kind`` is VIEW, LOCAL, STAGE or ACTION."""

    handle: int
    session: int
    kind: str
    offset: Pose
    action: int = 0
    subaction_path: int = 0


class SpacesMixin:
    """Space creation and location."""

    def _space(self, handle: Any) -> SpaceObject:
        return self._get(handle, SpaceObject, "XrSpace")

    def _check_pose(self, pose: Pose, what: str) -> None:
        if not is_unit(pose.orientation):
            raise Violation(xr.Result.ERROR_POSE_INVALID, f"{what}: orientation {pose.orientation} is not unit length")

    def _space_in_stage(self, space: SpaceObject, display_time: int) -> Pose | None:
        """The space's pose in STAGE at ``display_time``; ``None`` when it cannot be located."""
        session = self._objects.get(space.session)
        if space.kind == "VIEW":
            base = self._head_at(session, display_time)
        elif space.kind == "LOCAL":
            base = Pose((0.0, float(self.local_height_m), 0.0))
        elif space.kind == "STAGE":
            base = Pose()
        else:
            hand = self._action_space_hand(session, space)
            if hand is None:
                return None
            base = self.controllers[hand].pose
        return base.compose(space.offset)

    @xr_function("xrEnumerateReferenceSpaces")
    def _enumerate_reference_spaces(self, session_handle: Any, capacity: int, count_out: Any, spaces: Any) -> int:
        self._session(session_handle)
        array = ctypes.cast(spaces, ctypes.POINTER(ctypes.c_int))
        kinds = [int(kind) for kind in self.reference_spaces]
        return two_call(capacity, count_out, kinds, lambda index, kind: array.__setitem__(index, kind))

    @xr_function("xrCreateReferenceSpace")
    def _create_reference_space(self, session_handle: Any, create_info: Any, space_out: Any) -> None:
        session = self._session(session_handle)
        info = read_struct(create_info, xr.ReferenceSpaceCreateInfo, ST.REFERENCE_SPACE_CREATE_INFO)
        kind = info._reference_space_type
        if kind not in [int(k) for k in self.reference_spaces]:
            raise XrError(xr.Result.ERROR_REFERENCE_SPACE_UNSUPPORTED)
        offset = Pose.from_xr(info.pose_in_reference_space)
        self._check_pose(offset, "pose_in_reference_space")
        handle = self._new_handle(SpaceObject(0, session.handle, RST(kind).name, offset))
        session.spaces.append(handle)
        write_u64(space_out, handle)

    @xr_function("xrGetReferenceSpaceBoundsRect")
    def _get_reference_space_bounds(self, session_handle: Any, space_type: int, bounds: Any) -> int:
        self._session(session_handle)
        if space_type not in [int(k) for k in self.reference_spaces]:
            raise XrError(xr.Result.ERROR_REFERENCE_SPACE_UNSUPPORTED)
        extent = xr.Extent2Df.from_address(ctypes.cast(bounds, ctypes.c_void_p).value)
        if space_type == RST.STAGE:
            extent.width, extent.height = self.stage_bounds_m
            return int(xr.Result.SUCCESS)
        extent.width = extent.height = 0.0
        return int(xr.Result.SPACE_BOUNDS_UNAVAILABLE)

    @xr_function("xrCreateActionSpace")
    def _create_action_space(self, session_handle: Any, create_info: Any, space_out: Any) -> None:
        session = self._session(session_handle)
        info = read_struct(create_info, xr.ActionSpaceCreateInfo, ST.ACTION_SPACE_CREATE_INFO)
        action = self._action(info.action)
        if action.action_type != xr.ActionType.POSE_INPUT:
            raise Violation(xr.Result.ERROR_ACTION_TYPE_MISMATCH, f"action space for non-pose action {action.name!r}")
        self._check_subaction(action, info.subaction_path)
        offset = Pose.from_xr(info.pose_in_action_space)
        self._check_pose(offset, "pose_in_action_space")
        space = SpaceObject(0, session.handle, "ACTION", offset, action.handle, info.subaction_path)
        handle = self._new_handle(space)
        session.spaces.append(handle)
        write_u64(space_out, handle)

    @xr_function("xrDestroySpace")
    def _destroy_space(self, space_handle: Any) -> None:
        space = self._space(space_handle)
        session = self._objects.get(space.session)
        if session is not None and space.handle in session.spaces:
            session.spaces.remove(space.handle)
        del self._objects[space.handle]

    @xr_function("xrLocateSpace")
    def _locate_space(self, space_handle: Any, base_handle: Any, display_time: int, location: Any) -> None:
        space, base = self._space(space_handle), self._space(base_handle)
        if space.session != base.session:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "xrLocateSpace with spaces of different sessions")
        self._session(space.session)
        if display_time <= 0:
            raise Violation(xr.Result.ERROR_TIME_INVALID, f"xrLocateSpace at time {display_time}")
        result = read_struct(location, xr.SpaceLocation, ST.SPACE_LOCATION)
        for _, address in find_in_chain(result._next or 0, [ST.SPACE_VELOCITY]):
            velocity = xr.SpaceVelocity.from_address(address)
            velocity._velocity_flags = 0
        space_pose = self._space_in_stage(space, display_time)
        base_pose = self._space_in_stage(base, display_time)
        if space_pose is None or base_pose is None:
            result._location_flags = 0
            return
        space_pose.relative_to(base_pose).write_to(result.pose)
        result._location_flags = LOCATED

    @xr_function("xrLocateViews")
    def _locate_views(
        self, session_handle: Any, locate_info: Any, view_state: Any, capacity: int, count_out: Any, views: Any
    ) -> int:
        session = self._session(session_handle)
        info = read_struct(locate_info, xr.ViewLocateInfo, ST.VIEW_LOCATE_INFO)
        self._check_view_configuration(info._view_configuration_type)
        if info.display_time <= 0:
            raise Violation(xr.Result.ERROR_TIME_INVALID, f"xrLocateViews at time {info.display_time}")
        space = self._space(info.space)
        if space.session != session.handle:
            raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "xrLocateViews with a space of another session")
        state = read_struct(view_state, xr.ViewState, ST.VIEW_STATE)
        head = self._head_at(session, info.display_time)
        base = self._space_in_stage(space, info.display_time)
        array = ctypes.cast(views, ctypes.POINTER(xr.View))
        half = float(self.ipd_m) / 2.0

        def write(index: int, eye_offset: float) -> None:
            view = array[index]
            if view.type != ST.VIEW:
                raise Violation(xr.Result.ERROR_VALIDATION_FAILURE, "View.type not set")
            if base is not None:
                head.compose(Pose((eye_offset, 0.0, 0.0))).relative_to(base).write_to(view.pose)
            fov = self.eye_fovs[index]
            view.fov.angle_left, view.fov.angle_right, view.fov.angle_up, view.fov.angle_down = fov

        result = two_call(capacity, count_out, [-half, half], write)
        state._view_state_flags = VIEW_LOCATED if base is not None else 0
        return result
