"""Dressed bodies (vr.render.garments), checked by offscreen pixels through orthographic cameras,
unlit so a pixel shows its vertex colour: clothes where the torso and legs are, skin at the face
and hands, sleeves and hair that move with the joints they are skinned to, clothes that follow the
seeded shape, seeded looks that differ and repeat, and lids that still close over the new eyes."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import grab_rgb, offscreen_or_skip

from vr.render import bodies as B
from vr.render import garments as G

SIZE = (240, 480)
RED, BLUE, GREEN, YELLOW = (0.85, 0.10, 0.10), (0.10, 0.15, 0.85), (0.10, 0.75, 0.15), (0.95, 0.85, 0.10)


@pytest.fixture(scope="module")
def base():
    from vr.backends.panda import start_showbase

    b = offscreen_or_skip(lambda: start_showbase("offscreen", SIZE, "tests"))
    yield b
    b.destroy()


@pytest.fixture(scope="module")
def library():
    """Each body's arrays, template and wardrobe, made once for the module."""
    out = {}
    for name in B.BODY_NAMES:
        asset = B.load_body(name)
        out[name] = (asset, B.load_template(asset), G.Wardrobe(asset))
    return out


def look(**kw) -> G.Look:
    fields = dict(seed=1, scene="office", top="shirt", sleeve=0.97, jacket="none", bottom="trousers", hair="short",
                  beard=False, colours={"top": RED, "bottom": BLUE, "shoes": GREEN, "hair": YELLOW, "jacket": RED})
    fields.update(kw)
    return G.Look(**fields)


def dressed(base, library, name="female", seed=2, outfit: G.Look | None = None, **kw):
    asset, template, wardrobe = library[name]
    body = B.BodyView(asset, template, base.render, seed=seed, **kw)
    return body, G.dress(body, wardrobe, outfit)


def remove(body: B.BodyView) -> None:
    body.root.cleanup()
    body.root.removeNode()


def ortho(base, center, film_h_m: float, side: bool = False) -> float:
    """An orthographic camera on ``center`` from the front (-Y) or the body's left (+X); metres per pixel."""
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
    return grab_rgb(base).astype(int)


def near(image: np.ndarray, rgb, tol: int = 40) -> np.ndarray:
    """Pixels within ``tol`` (per channel, 0-255) of the sRGB colour ``rgb``."""
    return (np.abs(image - np.round(np.asarray(rgb) * 255)) <= tol).all(axis=-1)


def pixel(m_per_px: float, center, x: float, z: float) -> tuple[int, int]:
    """(row, column) of the body-frame point (x, z) in a front view centred on ``center``."""
    return int(round(SIZE[1] / 2 - (z - center[2]) / m_per_px)), int(round(SIZE[0] / 2 + (x - center[0]) / m_per_px))


def test_importing_garments_pulls_in_no_torch_warp_or_anny():
    code = ("import sys, vr.render.garments\n"
            "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'warp', 'anny'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_clothes_cover_the_torso_and_legs_and_leave_the_face_and_hands_bare(base, library):
    body, outfit = dressed(base, library, "female", outfit=look())
    center = (0.0, 0.0, 0.85)
    m = ortho(base, center, 1.9)
    image = grab(base)
    skin = body.palette[0]

    def patch(x: float, z: float) -> np.ndarray:
        r, c = pixel(m, center, x, z)
        return image[r - 1:r + 2, c - 1:c + 2]

    assert near(patch(0.0, 1.2), RED).all()                                      # chest: the shirt
    for side in "LR":
        hip, knee, ankle = (np.array(body.joint_position(f"{j}.{side}")) for j in ("upperleg01", "lowerleg01", "foot"))
        for a, b in ((hip, knee), (knee, ankle)):                                # thigh and shin: the trousers
            mid = (a + b) / 2
            assert near(patch(mid[0], mid[2]), BLUE).all(), (side, mid)
    hand = body.joint_position("finger3-1.L")
    assert near(patch(hand[0], hand[2] - 0.01), skin, 30).all()                  # the hand: skin
    nose = body.joint_position("eye.L")[2] - 0.035
    assert near(patch(0.0, nose), skin, 30).all()                                # the face: skin
    assert near(image, GREEN).sum() > 40                                         # shoes
    assert near(image, YELLOW).sum() > 200                                       # hair
    report = outfit.report()
    remove(body)
    assert report["vertices"] > 3000 and report["look"]["top"] == "shirt"


def test_a_turned_arm_carries_its_sleeve_and_a_turned_head_its_hair(base, library):
    body, _ = dressed(base, library, "male", seed=5, outfit=look())
    center = (0.0, 0.0, 1.0)
    m = ortho(base, center, 2.2)
    still = grab(base)
    body.turn_joint("upperarm01.L", (0, 0, 45))
    raised = grab(base)
    left = slice(SIZE[0] // 2 + int(0.2 / m), SIZE[0])           # beyond the shoulder, the body's left
    right = slice(0, SIZE[0] // 2 - int(0.2 / m))
    sleeve = [near(img[:, left], RED) for img in (still, raised)]
    assert np.array_equal(near(still[:, right], RED), near(raised[:, right], RED))
    assert (sleeve[0] != sleeve[1]).sum() > 0.3 * sleeve[0].sum()               # the sleeve moved ...
    shirt = [near(img, RED).sum() for img in (still, raised)]
    assert abs(shirt[1] - shirt[0]) < 0.15 * shirt[0]                            # ... whole, not torn off
    assert near(raised[:, left], body.palette[0], 30).sum() > 50                 # the hand, still bare
    elbow = body.joint_position("lowerarm01.L")                                 # where the turn took the elbow
    r, c = pixel(m, center, elbow[0], elbow[2])
    assert near(raised[r - 1:r + 2, c - 1:c + 2], RED).all()                    # the sleeve went with it
    body.turn_joint("upperarm01.L", (0, 0, 0))
    head_z = body.joint_position("head")[2]
    ortho(base, (0.0, 0.0, head_z + 0.1), 0.5, side=True)
    before = near(grab(base), YELLOW)
    body.turn_joint("head", (0, -35, 0))
    after = near(grab(base), YELLOW)
    remove(body)
    assert before.sum() > 300
    assert (before != after).sum() > 0.25 * before.sum()
    cols = np.arange(SIZE[0])[None, :]
    shift = [(h * cols).sum() / h.sum() for h in (before, after)]
    assert (shift[1] - shift[0]) * 0.5 / SIZE[1] > 0.01                         # the hair went forward with the nod


def test_clothes_follow_the_seeded_shape(base, library):
    center = (0.0, 0.0, 1.0)
    m = ortho(base, center, 2.2)
    widths = []
    for weight in (-1.0, 1.0):
        body, _ = dressed(base, library, "female", seed=None, shape={"weight": weight}, outfit=look())
        row = near(grab(base)[pixel(m, center, 0.0, 1.1)[0]], RED)
        mid = SIZE[0] // 2                                      # the torso's run of shirt pixels, arms apart
        left = mid - np.argmin(row[mid::-1])
        right = mid + np.argmin(row[mid:])
        widths.append((right - left) * m)
        remove(body)
    assert widths[1] > widths[0] + 0.01, widths                       # the heavier waist, still all shirt


def test_seeds_vary_the_look_and_one_seed_repeats_it(base, library):
    looks = [G.look_for_seed(s, B.BODY_NAMES[s % 2], scene) for s in range(20) for scene in G.SCENES]
    assert len({(lk.top, lk.jacket, lk.bottom, lk.hair, tuple(lk.colours.values())) for lk in looks}) >= 38
    assert G.look_for_seed(7, "male") == G.look_for_seed(7, "male")
    ortho(base, (0.0, 0.0, 0.9), 2.0)
    images, times = [], []
    for seed in (3, 4, 3):
        asset, template, wardrobe = library["female"]
        body = B.BodyView(asset, template, base.render, seed=seed)
        start = time.perf_counter()
        G.dress(body, wardrobe, scene="casual")
        times.append(time.perf_counter() - start)
        images.append(grab(base))
        remove(body)
    assert np.array_equal(images[0], images[2])
    assert (np.abs(images[0] - images[1]).sum(axis=2) > 30).mean() > 0.03
    assert min(times) < 0.25, times                                     # typically 5-40 ms on one core


def test_the_new_eyes_have_iris_pupil_and_sclera_and_a_blink_still_covers_them(base, library):
    body, _ = dressed(base, library, "female", seed=2, outfit=look(hair="bald"))
    eye = np.array(body.joint_position("eye.L"))
    center = (float(eye[0]), 0.0, float(eye[2]))
    m = ortho(base, center, 0.06)
    rest = grab(base)
    sclera = near(rest, (0.94, 0.93, 0.91), 25).sum()
    pupil = (rest.sum(axis=2) < 30).sum()
    iris = near(rest, body.palette[2], 60).sum()
    assert sclera > 100 and pupil > 20 and iris > 100, (sclera, pupil, iris)
    assert (rest.min(axis=2) > 240).sum() > 3                                       # the catch-light
    r, c = pixel(m, center, eye[0], eye[2])
    assert rest[r - 1:r + 2, c - 1:c + 2].sum(axis=2).max() < 60                    # the pupil at the centre
    body.set_face({"eyeBlinkLeft": 1.0})
    closed = grab(base)
    remove(body)
    assert near(closed, (0.94, 0.93, 0.91), 25).sum() < 0.1 * sclera
    assert (closed.sum(axis=2) < 30).sum() < 0.1 * pupil


def test_the_baked_pieces_are_what_the_bake_script_makes_and_a_missing_file_says_so(tmp_path):
    import importlib.util

    from vr.render.bodies import ASSETS_DIR

    script = ASSETS_DIR.parents[1] / "scripts" / "bake_garments.py"
    spec = importlib.util.spec_from_file_location("bake_garments", script)
    bake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bake)
    asset = B.load_body("male")
    fresh = bake.bake(asset)
    with np.load(ASSETS_DIR / "garments_male.npz", allow_pickle=False) as stored:
        assert sorted(stored.files) == sorted(fresh)
        for key in fresh:
            assert np.array_equal(stored[key], fresh[key]), key
    with pytest.raises(FileNotFoundError, match="bake_garments.py"):
        G.Wardrobe(asset, assets_dir=tmp_path)
