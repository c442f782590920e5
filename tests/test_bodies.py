"""Baked bodies (assets/humans/, vr.render.bodies), checked by offscreen pixels against known
orthographic cameras: a human-sized silhouette of the stated height, seeded shapes that differ and
repeat, a head joint that turns the head, eye joints that turn the eyes, a blink that closes them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import grab_rgb, offscreen_or_skip

from vr.render import bodies as B

SIZE = (240, 480)


@pytest.fixture(scope="module")
def base():
    from vr.backends.panda import start_showbase

    b = offscreen_or_skip(lambda: start_showbase("offscreen", SIZE, "tests"))
    yield b
    b.destroy()


@pytest.fixture(scope="module")
def library():
    """Each baked body's arrays and its loaded template, loaded once for the module."""
    out = {}
    for name in B.BODY_NAMES:
        asset = B.load_body(name)
        out[name] = (asset, B.load_template(asset))
    return out


def view(base, library, name: str = "female", **kw) -> B.BodyView:
    asset, template = library[name]
    return B.BodyView(asset, template, base.render, **kw)


def ortho(base, center: tuple[float, float, float], film_h_m: float, side: bool = False) -> float:
    """An orthographic camera on ``center``, from the front (-Y) or the body's left side (+X);
    returns metres per pixel (square pixels)."""
    from panda3d.core import OrthographicLens

    w, h = SIZE
    lens = OrthographicLens()
    lens.setFilmSize(film_h_m * w / h, film_h_m)
    lens.setNearFar(0.1, 50)
    base.cam.node().setLens(lens)
    cx, cy, cz = center
    base.cam.setPos(cx + 10, cy, cz) if side else base.cam.setPos(cx, cy - 10, cz)
    base.cam.lookAt(*center)
    return film_h_m / h


def grab(base) -> np.ndarray:
    return grab_rgb(base)


def mask(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2) > 20          # the background is black, the darkest skin tone is not


def test_importing_bodies_pulls_in_no_torch_warp_or_anny():
    code = ("import sys, vr.render.bodies\n"
            "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'warp', 'anny'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_each_body_reports_the_rig_and_mesh(base, library):
    for name in B.BODY_NAMES:
        body = view(base, library, name)
        report = body.report()
        assert report["vertices"] == 13718 and report["triangles"] == 27420
        assert report["joints"] == 104 and report["face_units"] == 52
        names = set(report["joint_names"])
        for group, joints in B.JOINT_GROUPS.items():
            assert set(joints) <= names, group
        assert {"head", "neck01", "eye.L", "eye.R", "spine01", "upperarm01.L", "wrist.R"} <= names
        body.root.cleanup()
        body.root.removeNode()


@pytest.mark.parametrize("name,seed", [("female", None), ("male", None), ("male", 11)])
def test_a_body_stands_its_stated_height_on_the_floor(base, library, name, seed):
    body = view(base, library, name, seed=seed)
    m_per_px = ortho(base, (0, 0, 1.1), 2.4)
    rows = np.flatnonzero(mask(grab(base)).any(axis=1))
    cols = np.flatnonzero(mask(grab(base)).any(axis=0))
    body.root.cleanup()
    body.root.removeNode()
    assert 1.45 < body.height_m < 1.95
    measured_m = (rows[-1] - rows[0] + 1) * m_per_px
    assert abs(measured_m - body.height_m) < 0.015, (measured_m, body.height_m)
    floor_z = 1.1 - (rows[-1] + 1 - SIZE[1] / 2) * m_per_px
    assert abs(floor_z) < 0.01                                   # soles at z = 0
    width_m = (cols[-1] - cols[0] + 1) * m_per_px                # A-pose: fingertip to fingertip
    assert 0.8 < width_m < 1.3
    assert abs((cols[0] + cols[-1] + 1) / 2 - SIZE[0] / 2) * m_per_px < 0.02   # centred on its root


def test_two_seeds_give_two_shapes_and_one_seed_the_same_pixels(base, library):
    ortho(base, (0, 0, 1.0), 2.2)
    images = []
    for seed in (3, 4, 3):
        body = view(base, library, "female", seed=seed)
        images.append(grab(base))
        body.root.cleanup()
        body.root.removeNode()
    assert B.shape_for_seed(3) != B.shape_for_seed(4)
    assert np.array_equal(images[0], images[2])
    differ = (mask(images[0]) != mask(images[1])).sum()
    assert differ > 0.03 * mask(images[0]).sum()


def test_turning_the_head_joint_moves_the_head_and_nothing_below_the_neck(base, library):
    body = view(base, library, "male", seed=5)
    neck_z = body.joint_position("neck01")[2]
    head_before = body.joint_position("head")
    m_per_px = ortho(base, (0, 0, 1.0), 2.2, side=True)
    still = grab(base)
    body.turn_joint("head", (0, 0, 0))
    assert np.array_equal(grab(base), still)                   # a zero turn keeps the shaped rest pose
    body.turn_joint("head", (0, -35, 0))
    nodded = grab(base)
    # the head turns about its own (shaped) pivot, which therefore stays put
    assert np.allclose(body.joint_position("head"), head_before, atol=1e-4)
    body.root.cleanup()
    body.root.removeNode()
    neck_row = int(round(SIZE[1] / 2 - (neck_z - 0.06 - 1.0) / m_per_px))
    assert np.array_equal(nodded[neck_row:], still[neck_row:])
    top = slice(0, neck_row)
    changed = (mask(nodded[top]) != mask(still[top])).sum()
    assert changed > 150
    # seen from the body's left, -Y (its front) is to the right: a nod moves the head forward
    cols = np.arange(SIZE[0])
    centroid = [(mask(img[top]).sum(axis=0) * cols).sum() / mask(img[top]).sum() for img in (still, nodded)]
    assert (centroid[1] - centroid[0]) * m_per_px > 0.01


def eye_pixels(image: np.ndarray) -> np.ndarray:
    """Iris and pupil pixels: well darker than the skin (the commonest lit colour), not background."""
    lum = image.astype(int).sum(axis=2)
    lit = lum[lum > 5]
    skin = np.bincount(lit).argmax()
    return (lum > 5) & (lum < 0.6 * skin)


def test_eye_joints_exist_and_turn_the_eyes_and_a_blink_closes_them(base, library):
    body = view(base, library, "female", seed=2)          # seed 2: blue-grey irises, light skin
    head = np.array(body.joint_position("head"))
    eyes = {side: np.array(body.joint_position(f"eye.{side}")) for side in "LR"}
    for side, sign in (("L", 1), ("R", -1)):
        p = eyes[side]
        assert 0.02 < sign * p[0] < 0.05                   # eye.L on the body's left (+X)
        assert p[1] < head[1] - 0.03                       # in front of the head joint
        assert body.height_m - 0.16 < p[2] < body.height_m - 0.07
    center = (0.0, 0.0, float(eyes["L"][2]))
    m_per_px = ortho(base, center, 0.24)
    rest = grab(base)

    def column(x: float) -> int:
        return int(round(SIZE[0] / 2 + x / m_per_px))

    left, right = slice(column(0.0), SIZE[0]), slice(0, column(0.0))
    assert eye_pixels(rest[:, left]).sum() > 30 and eye_pixels(rest[:, right]).sum() > 30
    body.turn_joint("eye.L", (30, 0, 0))                # heading: the eye looks to the body's left
    turned = grab(base)
    assert np.array_equal(turned[:, right], rest[:, right])
    cols = np.arange(SIZE[0])[left]
    shift = [(eye_pixels(img[:, left]).sum(axis=0) * cols).sum() / eye_pixels(img[:, left]).sum()
             for img in (rest, turned)]
    assert (shift[1] - shift[0]) * m_per_px > 0.002     # the iris moves towards +X (screen right)
    body.turn_joint("eye.L", (0, 0, 0))
    body.set_face({"eyeBlinkLeft": 1.0})
    blinked = grab(base)
    body.root.cleanup()
    body.root.removeNode()
    assert eye_pixels(blinked[:, left]).sum() < 0.2 * eye_pixels(rest[:, left]).sum()
    assert eye_pixels(blinked[:, right]).sum() > 0.8 * eye_pixels(rest[:, right]).sum()
