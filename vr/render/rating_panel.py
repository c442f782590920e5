"""The rating panel in the scene, and the patient's controllers with their pointing rays.

Draws what the session's rating panel decided (``WorldState.rating_panel``, from
``vr.sim.rating_panel``): the question, a row of numbers, the marker at the current value, the
number being looked at with its dwell bar; on the desktop, a reticle at the centre of the view.
Unlit and drawn with Panda3D's fixed pipeline (``setShaderOff``) so it reads the same in any scene
lighting. It only reads the world, in the frame's apply stage.
"""

from __future__ import annotations

from panda3d.core import CardMaker, LineSegs, NodePath, Quat, TextNode, TransparencyAttrib

from vr.sim import WorldState
from vr.sim.rating_panel import PANEL_HEIGHT_M, PANEL_WIDTH_M
from vr.sim.types import RatingPanelState

MISSED_CLICK_HINT = "Put the centre of the view on a number, then click"

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
    """Shown while a rating is asked; rebuilt for each new question (a few nodes, once).

    The panel hangs under a rig that rides with a distraction session's glide (the session places
    it in the seat's frame). ``aspect2d``: draw the desktop's reticle there while a panel is up (not
    in the distraction game, which draws its own). ``hud``: where a click off the numbers is told.
    """

    HEADSET_HINT = "Trigger to answer, or look at a number for 2 seconds"
    DESKTOP_HINT = "Click to answer, or look at a number for 2 seconds"

    def __init__(self, render: NodePath, hint: str = HEADSET_HINT, aspect2d: NodePath | None = None,
                 hud=None) -> None:
        self.hint = hint
        self.hud = hud
        self.rig = render.attachNewNode("rating-rig")
        self.root = self.rig.attachNewNode("rating-panel")
        self.root.setShaderOff(1)
        self.root.setLightOff(1)
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        self.root.hide()
        self.reticle = _reticle(aspect2d) if aspect2d is not None else None
        self._built: tuple | None = None
        self._content: NodePath | None = None
        self._marker: NodePath | None = None
        self._hover: NodePath | None = None
        self._slots: list[float] = []
        self._missed = 0

    def _build(self, panel: RatingPanelState) -> None:
        if self._content is not None:
            self._content.removeNode()
        content = self.root.attachNewNode("content")
        w, h = PANEL_WIDTH_M, PANEL_HEIGHT_M
        _card(content, "back", -w / 2, w / 2, -h / 2, h / 2, (0.08, 0.1, 0.14, 0.9))
        _text(content, panel.question, 0.0, h / 2 - 0.09, 0.065)
        ticks = panel.ticks
        slot_w = 0.9 * w / len(ticks)
        self._slots = [(-0.45 * w) + (i + 0.5) * slot_w for i in range(len(ticks))]
        row_z = (0.42 - 0.5) * h
        self._marker = _card(content, "marker", -slot_w / 2, slot_w / 2, row_z - 0.03, row_z + 0.07, MARKER)
        self._marker.setY(-0.001)
        self._hover = _card(content, "hover", -slot_w / 2, slot_w / 2, row_z - 0.045, row_z - 0.032, HOVER)
        self._hover.setY(-0.002)
        for x, tick in zip(self._slots, ticks):
            _text(content, str(tick), x, row_z, 0.06 if len(ticks) <= 6 else 0.05)
        _text(content, panel.low_label, -0.45 * w, row_z - 0.095, 0.042, TextNode.ALeft)
        _text(content, panel.high_label, 0.45 * w, row_z - 0.095, 0.042, TextNode.ARight)
        _text(content, self.hint, 0.0, -h / 2 + 0.04, 0.038)
        self.root.setPos(*panel.center_m)
        self.root.setH(panel.yaw_deg)
        self._content = content

    def apply(self, world: WorldState, dt_s: float = 0.0) -> None:
        """Show ``world``'s panel (reads the world only)."""
        game = world.game
        if game is not None:
            self.rig.setPosHpr(*game.rig_position_m, game.rig_yaw_deg, 0.0, 0.0)
        else:
            self.rig.setPosHpr(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        panel = world.rating_panel
        self.update(panel)
        if self.reticle is not None:
            if panel is not None and panel.open and game is None:
                self.reticle.show()
            else:
                self.reticle.hide()
        if panel is not None and panel.missed_clicks > self._missed:
            self._missed = panel.missed_clicks
            if self.hud is not None:
                self.hud.show_alert(MISSED_CLICK_HINT, 3.0)

    @property
    def shown(self) -> bool:
        return not self.root.isHidden()

    def update(self, panel: RatingPanelState | None) -> None:
        if panel is None or not panel.open:
            self.root.hide()
            self._built = None
            return
        key = (panel.scale, panel.center_m, panel.yaw_deg)
        if key != self._built:
            self._build(panel)
            self._built = key
        self.root.show()
        ticks = panel.ticks
        index = min(range(len(ticks)), key=lambda i: abs(ticks[i] - panel.value))
        self._marker.setX(self._slots[index])
        if panel.hover is None:
            self._hover.hide()
        else:
            self._hover.show()
            self._hover.setX(self._slots[ticks.index(panel.hover)])
            self._hover.setSx(max(0.05, panel.dwell))

    def destroy(self) -> None:
        self.rig.removeNode()
        if self.reticle is not None:
            self.reticle.removeNode()


def _reticle(aspect2d: NodePath) -> NodePath:
    """A small cross at the centre of the window (the head ray), dark-edged so it reads on any scene."""
    root = aspect2d.attachNewNode("rating-reticle")
    for thickness, color in ((5.0, (0.05, 0.08, 0.12, 0.85)), (2.0, (0.95, 0.96, 1.0, 1.0))):
        lines = LineSegs("reticle")
        lines.setThickness(thickness)
        lines.setColor(*color)
        for a, b in (((-0.04, 0, 0), (-0.012, 0, 0)), ((0.012, 0, 0), (0.04, 0, 0)),
                     ((0, 0, -0.04), (0, 0, -0.012)), ((0, 0, 0.012), (0, 0, 0.04))):
            lines.moveTo(*a)
            lines.drawTo(*b)
        root.attachNewNode(lines.create())
    root.hide()
    return root


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

    def update(self, poses: dict, show_rays: bool) -> None:
        """``poses``: hand -> a pose with ``position_m`` and ``quat_xyzw`` (scene frame), or None."""
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
