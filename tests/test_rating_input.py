"""The in-headset rating slider: thumbstick and trigger, pointing, gaze dwell, scales."""

from __future__ import annotations

import math

import pytest

from vr.app.rating_input import DWELL_S, PANEL_DISTANCE_M, Placement, Pointer, RatingInput, head_ray
from vr.sim import HeadPose

DT = 1 / 90
HEAD = HeadPose((1.0, 2.0, 1.2), yaw_deg=30.0)


def idle_gaze():
    return Pointer((0, 0, 0), (0, 0, -1))  # looking at the floor, away from the panel


def test_panel_stands_ahead_of_the_patient_and_the_line_of_sight_hits_its_middle():
    place = Placement.ahead_of(HEAD)
    dx, dy = place.center_m[0] - HEAD.position_m[0], place.center_m[1] - HEAD.position_m[1]
    assert math.hypot(dx, dy) == pytest.approx(PANEL_DISTANCE_M)
    assert math.degrees(math.atan2(-dx, dy)) == pytest.approx(30.0)
    origin, direction = head_ray(HEAD)
    u, v = place.hit(origin, direction)
    assert u == pytest.approx(0.5) and 0.5 < v < 0.7  # the panel sits a little below eye level
    # Looking the other way misses it.
    assert place.hit(origin, tuple(-c for c in direction)) is None


def test_thumbstick_moves_the_marker_and_the_trigger_records_it():
    r = RatingInput()
    hand = Pointer((0, 0, 0), (0, 0, -1), hand="right")
    assert r.update("suds", HEAD, idle_gaze(), [hand], DT) is None
    assert r.value == 50.0  # starts mid-scale
    hand.stick_x = 1.0
    buzzed = 0
    for _ in range(45):  # half a second fully pushed: a fifth of the scale
        assert r.update("suds", HEAD, idle_gaze(), [hand], DT) is None
        buzzed += r.pulses.count("right")
    assert r.value == pytest.approx(70.0, abs=1.0)
    assert buzzed == 2  # one pulse for each number passed (60, 70)
    hand.stick_x, hand.trigger = 0.0, 1.0
    rating = r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.scale == "suds" and rating.value == pytest.approx(70.0, abs=1.0)
    assert rating.source == "headset_controller" and r.pulses == ["right"]


def test_a_trigger_already_held_when_the_question_appears_does_not_answer_it():
    r = RatingInput()
    hand = Pointer((0, 0, 0), (0, 0, -1), trigger=1.0, hand="left")
    for _ in range(10):
        assert r.update("pain", HEAD, idle_gaze(), [hand], DT) is None
    hand.trigger = 0.0
    r.update("pain", HEAD, idle_gaze(), [hand], DT)
    hand.trigger = 1.0
    rating = r.update("pain", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.value == 5.0 and rating.scale == "pain"


def aim_at(r: RatingInput, tick: int) -> Pointer:
    """A ray from the head to the middle of one number on the panel."""
    place, ticks = r.placement, r.scale.ticks
    u = 0.05 + 0.9 * (ticks.index(tick) + 0.5) / len(ticks)
    yaw = math.radians(place.yaw_deg)
    right = (math.cos(yaw), math.sin(yaw), 0.0)
    from vr.app.rating_input import PANEL_HEIGHT_M, PANEL_WIDTH_M

    target = tuple(c + (u - 0.5) * PANEL_WIDTH_M * rv for c, rv in zip(place.center_m, right))
    target = (target[0], target[1], place.center_m[2] + (0.42 - 0.5) * PANEL_HEIGHT_M)
    d = [t - o for t, o in zip(target, HEAD.position_m)]
    n = math.sqrt(sum(c * c for c in d))
    return Pointer(HEAD.position_m, tuple(c / n for c in d))


def test_looking_at_a_number_for_the_dwell_time_records_it():
    r = RatingInput()
    r.update("pain", HEAD, idle_gaze(), [], DT)
    gaze = aim_at(r, 7)
    frames = int(DWELL_S / DT)
    for _ in range(frames - 2):
        assert r.update("pain", HEAD, gaze, [], DT) is None
    assert r.hover == 7 and r.dwell_fraction > 0.95
    rating = None
    for _ in range(4):
        rating = rating or r.update("pain", HEAD, gaze, [], DT)
    assert rating is not None and rating.value == 7.0 and rating.source == "headset_gaze"


def test_glancing_away_restarts_the_dwell():
    r = RatingInput()
    r.update("suds", HEAD, idle_gaze(), [], DT)
    gaze = aim_at(r, 30)
    for _ in range(int(0.8 * DWELL_S / DT)):
        r.update("suds", HEAD, gaze, [], DT)
    r.update("suds", HEAD, idle_gaze(), [], DT)
    for _ in range(int(0.8 * DWELL_S / DT)):
        assert r.update("suds", HEAD, gaze, [], DT) is None


def test_pointing_a_controller_at_a_number_selects_it_for_the_trigger():
    r = RatingInput()
    r.update("suds", HEAD, idle_gaze(), [], DT)
    ray = aim_at(r, 90)
    hand = Pointer(ray.origin, ray.direction, hand="right")
    r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert r.value == 90.0
    hand.trigger = 1.0
    rating = r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.value == 90.0


def test_no_prompt_no_panel():
    r = RatingInput()
    assert r.update(None, HEAD, idle_gaze(), [], DT) is None and r.scale is None
    r.update("suds", HEAD, idle_gaze(), [], DT)
    assert r.scale is not None
    r.update(None, HEAD, idle_gaze(), [], DT)  # answered elsewhere (keyboard, console): the panel goes
    assert r.scale is None
