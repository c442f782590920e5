"""The rating panel in the headset, and the patient's controllers with their pointing rays.

Draws what ``vr.sim.rating_panel.RatingInput`` decided: the question, a row of numbers, the
marker at the current value, the number being looked at with its dwell bar. Unlit and drawn
with Panda3D's fixed pipeline (``setShaderOff``) so it reads the same in any scene lighting.
"""

from __future__ import annotations

from panda3d.core import CardMaker, LineSegs, NodePath, Quat, TextNode, TransparencyAttrib

from vr.sim.rating_panel import PANEL_HEIGHT_M, PANEL_WIDTH_M, RatingInput
from vr.backends.xrmath import Pose

TEXT = (0.95, 0.96, 1.0, 1.0)
MARKER = (0.25, 0.65, 1.0, 1.0)
HOVER = (1.0, 0.85, 0.35, 1.0)
RAY_M = 2.0


def _card(parent: NodePath, name: str, left: float, right: float, bottom: float, top: float, color) -> NodePath:
    cm = CardMaker(name)
    cm.setFrame(left, right, bottom, top)
    node = parent.attachNewNode(cm.generate())
    node.setColor(*color)
    node.setTwoSided(True)
    return node


def _text(parent: NodePath, text: str, x: float, z: float, scale: float, align=TextNode.ACenter) -> NodePath:
    node = TextNode("label")
    node.setText(text)
    node.setAlign(align)
    node.setTextColor(*TEXT)
    path = parent.attachNewNode(node)
    path.setPos(x, -0.004, z)
    path.setScale(scale)
    return path


class RatingPanelView:
    """Shown while a rating is asked; rebuilt for each new question (a few nodes, once)."""

    HEADSET_HINT = "Trigger to answer, or look at a number for 2 seconds"
    DESKTOP_HINT = "Click to answer, or look at a number for 2 seconds"

    def __init__(self, render: NodePath, hint: str = HEADSET_HINT) -> None:
        """``hint``: how to answer, under the numbers (the headset's trigger, the desktop's click)."""
        self.hint = hint
        self.root = render.attachNewNode("rating-panel")
        self.root.setShaderOff(1)
        self.root.setLightOff(1)
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        self.root.hide()
        self._scale_name = ""
        self._content: NodePath | None = None
        self._marker: NodePath | None = None
        self._hover: NodePath | None = None
        self._dwell: NodePath | None = None
        self._slots: list[float] = []

    def _build(self, rating: RatingInput) -> None:
        scale, place = rating.scale, rating.placement
        assert scale is not None and place is not None
        if self._content is not None:
            self._content.removeNode()
        content = self.root.attachNewNode("content")
        w, h = PANEL_WIDTH_M, PANEL_HEIGHT_M
        _card(content, "back", -w / 2, w / 2, -h / 2, h / 2, (0.08, 0.1, 0.14, 0.9))
        _text(content, scale.question, 0.0, h / 2 - 0.09, 0.065)
        ticks = scale.ticks
        slot_w = 0.9 * w / len(ticks)
        self._slots = [(-0.45 * w) + (i + 0.5) * slot_w for i in range(len(ticks))]
        row_z = (0.42 - 0.5) * h
        self._marker = _card(content, "marker", -slot_w / 2, slot_w / 2, row_z - 0.03, row_z + 0.07, MARKER)
        self._marker.setY(-0.001)
        self._hover = _card(content, "hover", -slot_w / 2, slot_w / 2, row_z - 0.045, row_z - 0.032, HOVER)
        self._hover.setY(-0.002)
        self._dwell = self._hover
        for x, tick in zip(self._slots, ticks):
            _text(content, str(tick), x, row_z, 0.06 if len(ticks) <= 6 else 0.05)
        _text(content, scale.low_label, -0.45 * w, row_z - 0.095, 0.042, TextNode.ALeft)
        _text(content, scale.high_label, 0.45 * w, row_z - 0.095, 0.042, TextNode.ARight)
        _text(content, self.hint, 0.0, -h / 2 + 0.04, 0.038)
        self.root.setPos(*place.center_m)
        self.root.setH(place.yaw_deg)
        self._content = content
        self._scale_name = scale.name

    def update(self, rating: RatingInput) -> None:
        if rating.scale is None:
            self.root.hide()
            self._scale_name = ""
            return
        if rating.scale.name != self._scale_name:
            self._build(rating)
        self.root.show()
        ticks = rating.scale.ticks
        index = min(range(len(ticks)), key=lambda i: abs(ticks[i] - rating.value))
        self._marker.setX(self._slots[index])
        if rating.hover is None:
            self._hover.hide()
        else:
            self._hover.show()
            self._hover.setX(self._slots[ticks.index(rating.hover)])
            self._hover.setSx(max(0.05, rating.dwell_fraction))

    def destroy(self) -> None:
        self.root.removeNode()


class HandsView:
    """A small body for each tracked controller and, while a panel is up, a pointing ray."""

    def __init__(self, render: NodePath) -> None:
        self.root = render.attachNewNode("hands")
        self.root.setShaderOff(1)
        self.root.setLightOff(1)
        self.hands: dict[str, NodePath] = {}
        for hand in ("left", "right"):
            node = self.root.attachNewNode(f"hand-{hand}")
            body = LineSegs("body")
            body.setThickness(3.0)
            body.setColor(0.85, 0.88, 0.95, 1.0)
            for a, b in (((-0.02, -0.08, 0), (0.02, -0.08, 0)), ((0.02, -0.08, 0), (0.02, 0.02, 0)),
                         ((0.02, 0.02, 0), (-0.02, 0.02, 0)), ((-0.02, 0.02, 0), (-0.02, -0.08, 0))):
                body.moveTo(*a)
                body.drawTo(*b)
            node.attachNewNode(body.create())
            ray = LineSegs("ray")
            ray.setThickness(2.0)
            ray.setColor(*MARKER)
            ray.moveTo(0, 0, 0)
            ray.drawTo(0, RAY_M, 0)
            node.attachNewNode(ray.create()).setName("ray")
            node.hide()
            self.hands[hand] = node

    def update(self, poses: dict[str, Pose | None], show_rays: bool) -> None:
        for hand, node in self.hands.items():
            pose = poses.get(hand)
            if pose is None:
                node.hide()
                continue
            node.show()
            x, y, z, w = pose.quat_xyzw
            node.setPos(*pose.position_m)
            node.setQuat(Quat(w, x, y, z))
            ray = node.find("ray")
            if show_rays:
                ray.show()
            else:
                ray.hide()

    def destroy(self) -> None:
        self.root.removeNode()
