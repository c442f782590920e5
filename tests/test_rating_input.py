"""The rating slider: thumbstick and trigger, pointing, gaze dwell, scales; the desktop's mouse."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from vr.sim.rating_panel import DWELL_S, PANEL_DISTANCE_M, Placement, Pointer, RatingInput, head_ray, mouse_pointers
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
    hand = replace(hand, stick_x=1.0)
    buzzed = 0
    for _ in range(45):  # half a second fully pushed: a fifth of the scale
        assert r.update("suds", HEAD, idle_gaze(), [hand], DT) is None
        buzzed += r.pulses.count("right")
    assert r.value == pytest.approx(70.0, abs=1.0)
    assert buzzed == 2  # one pulse for each number passed (60, 70)
    hand = replace(hand, stick_x=0.0, trigger=1.0)
    rating = r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.scale == "suds" and rating.value == pytest.approx(70.0, abs=1.0)
    assert rating.source == "headset_controller" and r.pulses == ["right"]


def test_a_trigger_already_held_when_the_question_appears_does_not_answer_it():
    r = RatingInput()
    hand = Pointer((0, 0, 0), (0, 0, -1), trigger=1.0, hand="left")
    for _ in range(10):
        assert r.update("pain", HEAD, idle_gaze(), [hand], DT) is None
    hand = replace(hand, trigger=0.0)
    r.update("pain", HEAD, idle_gaze(), [hand], DT)
    hand = replace(hand, trigger=1.0)
    rating = r.update("pain", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.value == 5.0 and rating.scale == "pain"


def aim_at(r: RatingInput, tick: int) -> Pointer:
    """A ray from the head to the middle of one number on the panel."""
    place, ticks = r.placement, r.scale.ticks
    u = 0.05 + 0.9 * (ticks.index(tick) + 0.5) / len(ticks)
    yaw = math.radians(place.yaw_deg)
    right = (math.cos(yaw), math.sin(yaw), 0.0)
    from vr.sim.rating_panel import PANEL_HEIGHT_M, PANEL_WIDTH_M

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
    hand = replace(hand, trigger=1.0)
    rating = r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and rating.value == 90.0


def test_no_prompt_no_panel():
    r = RatingInput()
    assert r.update(None, HEAD, idle_gaze(), [], DT) is None and r.scale is None
    r.update("suds", HEAD, idle_gaze(), [], DT)
    assert r.scale is not None
    r.update(None, HEAD, idle_gaze(), [], DT)  # answered elsewhere (keyboard, console): the panel goes
    assert r.scale is None


def test_a_pointer_can_name_the_source_of_its_rating():
    r = RatingInput()
    r.update("suds", HEAD, idle_gaze(), [], DT)
    ray = aim_at(r, 20)
    hand = Pointer(ray.origin, ray.direction, trigger=1.0, source="tablet")
    rating = r.update("suds", HEAD, idle_gaze(), [hand], DT)
    assert rating is not None and (rating.value, rating.source) == (20.0, "tablet")
    r.update("pain", HEAD, idle_gaze(), [], DT)
    gaze = aim_at(r, 4)
    gaze = replace(gaze, source="desktop_gaze")
    rating = None
    for _ in range(int(DWELL_S / DT) + 2):
        rating = rating or r.update("pain", HEAD, gaze, [], DT)
    assert rating is not None and (rating.value, rating.source) == (4.0, "desktop_gaze")


# -- the desktop: the screen centre is the head ray, a click is the trigger -----------------------

def head_towards(r: RatingInput, tick: int) -> HeadPose:
    """The head turned (from the same place) so that its line of sight meets ``tick``."""
    d = aim_at(r, tick).direction
    return HeadPose(HEAD.position_m, math.degrees(math.atan2(-d[0], d[1])), math.degrees(math.asin(d[2])))


def test_a_click_records_the_number_at_the_centre_of_the_view():
    r = RatingInput()
    gaze, hands = mouse_pointers(HEAD, pressed=True)
    assert gaze.source == "desktop_gaze" and [h.source for h in hands] == ["mouse"] and hands[0].trigger == 1.0
    assert r.update("suds", HEAD, gaze, hands, DT) is None   # a click as the panel opens answers nothing
    head = head_towards(r, 70)
    gaze, hands = mouse_pointers(head, pressed=False)
    assert hands == () and r.update("suds", head, gaze, hands, DT) is None and r.hover == 70
    assert r.value == 50.0  # looking moves the hover, not the marker
    gaze, hands = mouse_pointers(head, pressed=True)
    rating = r.update("suds", head, gaze, hands, DT)
    assert rating is not None and (rating.scale, rating.value, rating.source) == ("suds", 70.0, "mouse")
    assert r.scale is None and r.pulses == []  # the mouse has no hand to buzz


def test_a_click_off_the_numbers_records_nothing():
    r = RatingInput()
    r.update("pain", HEAD, idle_gaze(), [], DT)
    up = HeadPose(HEAD.position_m, HEAD.yaw_deg, 25.0)  # over the panel
    rating = r.update("pain", up, *mouse_pointers(up, pressed=True), DT)
    assert rating is None and r.missed_click
    assert r.scale is not None  # still asking; the marker's mid-scale value was not sent
    r.update("pain", up, *mouse_pointers(up, pressed=False), DT)
    assert not r.missed_click
    head = head_towards(r, 3)
    rating = r.update("pain", head, *mouse_pointers(head, pressed=True), DT)
    assert rating is not None and (rating.value, rating.source) == (3.0, "mouse")


def test_on_the_desktop_looking_at_a_number_for_the_dwell_time_records_it():
    r = RatingInput()
    r.update("suds", HEAD, idle_gaze(), [], DT)
    head = head_towards(r, 20)
    rating = None
    for frame in range(int(DWELL_S / DT) + 2):
        rating = r.update("suds", head, *mouse_pointers(head, pressed=False), DT)
        if rating is not None:
            break
    assert rating is not None and (rating.value, rating.source) == (20.0, "desktop_gaze")
    assert frame >= int(DWELL_S / DT) - 1


def test_a_click_during_the_dwell_answers_at_once_and_only_once():
    r = RatingInput()
    r.update("suds", HEAD, idle_gaze(), [], DT)
    head = head_towards(r, 40)
    for _ in range(int(0.5 * DWELL_S / DT)):
        assert r.update("suds", head, *mouse_pointers(head, pressed=False), DT) is None
    rating = r.update("suds", head, *mouse_pointers(head, pressed=True), DT)
    assert rating is not None and (rating.value, rating.source) == (40.0, "mouse")
    assert r.scale is None and r.dwell_s == 0.0 and r.hover is None
    # The button still held as the next question opens answers nothing.
    assert r.update("suds", head, *mouse_pointers(head, pressed=True), DT) is None and r.scale is not None


def test_with_still_gaze_waits_the_number_under_a_still_gaze_does_not_answer_until_looked_at_again():
    r = RatingInput(still_gaze_waits=True)
    gaze = Pointer(*head_ray(HEAD))  # the panel opens centred on the line of sight: the middle number
    assert r.update("suds", HEAD, gaze, [], DT) is None and r.hover == 50
    for _ in range(int(2 * DWELL_S / DT)):
        assert r.update("suds", HEAD, gaze, [], DT) is None
    assert r.dwell_fraction == 0.0  # no dwell bar grows on it either
    r.update("suds", HEAD, aim_at(r, 60), [], DT)  # a glance at 60, and back: now 50 answers by a look
    rating = None
    for _ in range(int(DWELL_S / DT) + 2):
        rating = rating or r.update("suds", HEAD, gaze, [], DT)
    assert rating is not None and rating.value == 50.0


def test_a_controller_ray_is_seen_from_the_glide_seat_where_the_panel_rides():
    from vr.app.headset import _to_seat

    # The seat at (10, 5) turned 90 degrees: the seat's forward (+Y) is the scene's -X.
    p = Pointer((10.0, 5.0, 1.2), (-1.0, 0.0, 0.0), 0.3, 0.9, "right")
    q = _to_seat(p, (10.0, 5.0, 0.0), 90.0)
    assert q.origin == pytest.approx((0.0, 0.0, 1.2), abs=1e-9)
    assert q.direction == pytest.approx((0.0, 1.0, 0.0), abs=1e-9)
    assert (q.stick_x, q.trigger, q.hand) == (0.3, 0.9, "right")


# -- the panel in the session: raw pointing in, the answer decided in the step ---------------------

def test_a_press_in_a_frame_that_ran_no_step_is_kept_for_the_next():
    from vr.sim import FrameInputs

    gaze = Pointer(*head_ray(HEAD))
    press = Pointer(HEAD.position_m, (0.0, 1.0, 0.0), trigger=1.0, source="mouse")
    held = FrameInputs(HEAD, gaze=gaze, hands=(press,))
    later = FrameInputs(HeadPose((1.0, 2.0, 1.25), 31.0), gaze=Pointer((1.0, 2.0, 1.25), (0.0, 1.0, 0.0)))
    assert held.eventful and not later.eventful   # a pressed trigger is never dropped
    both = held.then(later)
    assert both.head == later.head and both.gaze == later.gaze and both.hands == (press,)
    released_then_pressed = later.then(held)
    assert released_then_pressed.hands == (press,)
    # A frame's later steps keep the pointing (no new trigger edge: the press is still held).
    assert both.pointing_only() == FrameInputs(later.head, gaze=later.gaze, hands=(press,))


def test_the_session_answers_from_pointing_and_a_key_closes_the_panel_in_the_same_step():
    from pathlib import Path

    from vr.config import load_profile
    from vr.sim import Command, FrameInputs
    from vr.sim.procedure import new_session

    root = Path(__file__).resolve().parents[1]
    session = new_session(load_profile(root / "exposure_profiles" / "public_speaking.yaml"), 3)
    world, _ = session.step(FrameInputs(session.head, (Command("ask_rating", text="suds"),)), DT)
    assert world.rating_prompt == "suds" and world.rating_panel is None   # nobody pointed yet
    gaze = Pointer(*head_ray(session.head))
    world, _ = session.step(FrameInputs(session.head, gaze=gaze), DT)
    panel = world.rating_panel
    assert panel.open and panel.scale == "suds" and panel.value == 50.0 and panel.hover == 50
    assert panel.ticks == tuple(range(0, 101, 10)) and panel.answers == 0
    # Without pointing an open panel holds still while the prompt stands.
    world, _ = session.step(FrameInputs(session.head), DT)
    assert world.rating_panel.open
    # A key's rating answers the prompt: the panel closes in that step and answers nothing itself.
    from vr.sim import Rating

    world, events = session.step(FrameInputs(session.head, ratings=(Rating("suds", 30.0, "keyboard"),), gaze=gaze), DT)
    assert [(e.data["value"], e.data["source"]) for e in events if e.kind == "rating"] == [(30.0, "keyboard")]
    assert world.rating_prompt is None and not world.rating_panel.open and world.rating_panel.answers == 0
