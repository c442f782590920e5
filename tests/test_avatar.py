"""A user's own avatar (vr.config.avatar, vr.render.avatar): small skinned humanoids written here as
glTF/VRM with numpy and json, checked at load (every broken file a clear error through `vr validate`,
no traceback) and rendered offscreen (it stands where placed at the slot's height, a head turn moves
the head, an arm raise lifts the arm, a VRM humanoid map and a rig with odd bone orientations pose
exactly as the plain one does)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, grab_rgb, offscreen_or_skip

from vr.config import ConfigError, load_scene
from vr.config.avatar import REQUIRED, AvatarError, _canonical, _bone_for, inspect_avatar

SIZE = (240, 480)
SHOTS = Path(os.environ["VR_TEST_SHOTS"]) if os.environ.get("VR_TEST_SHOTS") else None   # keep pictures there
# Humanoid bone -> (parent, rest position in glTF's frame: Y up, facing +Z, the body's left +X), 1 unit tall.
SKELETON = {
    "hips": (None, (0, 0.50, 0)), "spine": ("hips", (0, 0.58, 0)), "chest": ("spine", (0, 0.66, 0)),
    "neck": ("chest", (0, 0.80, 0)), "head": ("neck", (0, 0.85, 0)),
    "leftEye": ("head", (0.03, 0.92, 0.05)), "rightEye": ("head", (-0.03, 0.92, 0.05)),
}
for _s, _x in (("left", 1), ("right", -1)):
    SKELETON.update({
        f"{_s}UpperArm": ("chest", (0.13 * _x, 0.78, 0)), f"{_s}LowerArm": (f"{_s}UpperArm", (0.13 * _x, 0.64, 0)),
        f"{_s}Hand": (f"{_s}LowerArm", (0.13 * _x, 0.50, 0)),
        f"{_s}UpperLeg": ("hips", (0.06 * _x, 0.48, 0)), f"{_s}LowerLeg": (f"{_s}UpperLeg", (0.06 * _x, 0.27, 0)),
        f"{_s}Foot": (f"{_s}LowerLeg", (0.06 * _x, 0.05, 0)), f"{_s}Toes": (f"{_s}Foot", (0.06 * _x, 0.01, 0.07)),
    })
BODY_RGB, HEAD_RGB, NOSE_RGB, LEFT_ARM_RGB = (0.3, 0.4, 0.9), (0.9, 0.2, 0.2), (0.1, 0.9, 0.1), (0.9, 0.9, 0.1)
# Boxes: (bone, centre, half size, colour), glTF frame.
BOXES = [("hips", (0, 0.52, 0), (0.10, 0.05, 0.06), BODY_RGB), ("spine", (0, 0.62, 0), (0.09, 0.05, 0.05), BODY_RGB),
         ("chest", (0, 0.73, 0), (0.11, 0.07, 0.06), BODY_RGB), ("neck", (0, 0.825, 0), (0.03, 0.025, 0.03), BODY_RGB),
         ("head", (0, 0.92, 0), (0.06, 0.08, 0.07), HEAD_RGB),
         ("head", (0, 0.91, 0.09), (0.015, 0.015, 0.03), NOSE_RGB)]
for _s, _x in (("left", 1), ("right", -1)):
    arm = LEFT_ARM_RGB if _s == "left" else BODY_RGB
    BOXES += [(f"{_s}UpperArm", (0.13 * _x, 0.71, 0), (0.025, 0.07, 0.025), arm),
              (f"{_s}LowerArm", (0.13 * _x, 0.57, 0), (0.022, 0.07, 0.022), arm),
              (f"{_s}Hand", (0.13 * _x, 0.47, 0), (0.02, 0.03, 0.015), arm),
              (f"{_s}UpperLeg", (0.06 * _x, 0.375, 0), (0.04, 0.105, 0.04), BODY_RGB),
              (f"{_s}LowerLeg", (0.06 * _x, 0.16, 0), (0.035, 0.11, 0.035), BODY_RGB),
              (f"{_s}Foot", (0.06 * _x, 0.025, 0.03), (0.03, 0.025, 0.06), BODY_RGB)]


def _quat(m: np.ndarray) -> list[float]:
    """A rotation matrix as glTF's (x, y, z, w) quaternion."""
    w = np.sqrt(max(1e-12, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    return [float((m[2, 1] - m[1, 2]) / (4 * w)), float((m[0, 2] - m[2, 0]) / (4 * w)),
            float((m[1, 0] - m[0, 1]) / (4 * w)), float(w)]


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def make_humanoid(path: Path, *, names: dict[str, str] | None = None, vrm: str | None = None, drop: tuple = (),
                  skin: bool = True, twisted: bool = False, backwards: bool = False) -> Path:
    """Write a boxy skinned humanoid: ``names`` renames bones (humanoid -> node name); ``vrm`` '1.0'
    or '0.x' adds the humanoid map; ``drop`` leaves bones out (their boxes go to the parent);
    ``twisted`` gives every bone a random rest orientation; ``backwards`` faces it -Z (as VRM 0.x does).
    A .glb, .vrm or .gltf (buffer embedded) by ``path``'s suffix."""
    rng = np.random.default_rng(4)
    bones = [b for b in SKELETON if b not in drop]
    index = {b: i for i, b in enumerate(bones)}
    turn = np.diag([-1.0, 1.0, -1.0]) if backwards else np.eye(3)
    glob = {}
    for b in bones:
        m = np.eye(4)
        m[:3, :3] = turn @ (_random_rotation(rng) if twisted else np.eye(3))
        m[:3, 3] = turn @ np.array(SKELETON[b][1], float)
        glob[b] = m

    def parent(b: str) -> str | None:
        p = SKELETON[b][0]
        while p is not None and p in drop:
            p = SKELETON[p][0]
        return p

    nodes = []
    for b in bones:
        p = parent(b)
        local = glob[b] if p is None else np.linalg.inv(glob[p]) @ glob[b]
        node = {"name": (names or {}).get(b, b), "translation": [float(v) for v in local[:3, 3]],
                "rotation": _quat(local[:3, :3])}
        kids = [index[c] for c in bones if parent(c) == b]
        if kids:
            node["children"] = kids
        nodes.append(node)
    pos, col, joints, weights, idx = [], [], [], [], []
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    for bone, centre, half, rgb in BOXES:
        while bone in drop:
            bone = SKELETON[bone][0]
        base = len(pos)
        for c in corners:
            pos.append(turn @ (np.array(centre) + c * np.array(half)))
            col.append((*rgb, 1.0))
            joints.append((index[bone], 0, 0, 0))
            weights.append((1.0, 0, 0, 0))
        for a, b2, c2, d in quads:
            idx += [base + a, base + b2, base + c2, base + a, base + c2, base + d]
    pos = np.array(pos, np.float32)
    blobs = [pos.tobytes(), np.array(col, np.float32).tobytes(), np.array(joints, np.uint16).tobytes(),
             np.array(weights, np.float32).tobytes(), np.array(idx, np.uint16).tobytes(),
             np.stack([np.linalg.inv(glob[b]).T.reshape(-1) for b in bones]).astype(np.float32).tobytes()]
    views, offset, binary = [], 0, b""
    for blob in blobs:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(blob)})
        pad = (-len(blob)) % 4
        binary += blob + b"\0" * pad
        offset += len(blob) + pad
    n = len(pos)
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": n, "type": "VEC3",
         "min": [float(v) for v in pos.min(0)], "max": [float(v) for v in pos.max(0)]},
        {"bufferView": 1, "componentType": 5126, "count": n, "type": "VEC4"},
        {"bufferView": 2, "componentType": 5123, "count": n, "type": "VEC4"},
        {"bufferView": 3, "componentType": 5126, "count": n, "type": "VEC4"},
        {"bufferView": 4, "componentType": 5123, "count": len(idx), "type": "SCALAR"},
        {"bufferView": 5, "componentType": 5126, "count": len(bones), "type": "MAT4"},
    ]
    prim = {"attributes": {"POSITION": 0, "COLOR_0": 1}, "indices": 4}
    mesh_node = {"name": "body", "mesh": 0}
    if skin:
        prim["attributes"].update({"JOINTS_0": 2, "WEIGHTS_0": 3})
        mesh_node["skin"] = 0
    nodes.append(mesh_node)
    nodes.append({"name": "Armature", "children": [0, len(nodes) - 1]})   # as exporters write it
    data = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [len(nodes) - 1]}], "nodes": nodes,
            "meshes": [{"primitives": [prim]}], "accessors": accessors, "bufferViews": views,
            "buffers": [{"byteLength": len(binary)}]}
    if skin:
        data["skins"] = [{"joints": list(range(len(bones))), "inverseBindMatrices": 5}]
    if vrm == "1.0":
        data["extensionsUsed"] = ["VRMC_vrm"]
        data["extensions"] = {"VRMC_vrm": {"specVersion": "1.0", "humanoid": {
            "humanBones": {b: {"node": index[b]} for b in bones}}}}
    elif vrm == "0.x":
        data["extensionsUsed"] = ["VRM"]
        data["extensions"] = {"VRM": {"humanoid": {"humanBones": [{"bone": b, "node": index[b]} for b in bones]}}}
    if path.suffix == ".gltf":
        import base64

        data["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
        path.write_text(json.dumps(data))
        return path
    text = json.dumps(data).encode()
    text += b" " * ((-len(text)) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(binary), 0x004E4942) + binary
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body)
    return path


# -- reading the file ------------------------------------------------------------------------------


def test_common_bone_spellings_name_humanoid_bones():
    cases = {"mixamorig:LeftUpLeg": "leftUpperLeg", "mixamorig:LeftLeg": "leftLowerLeg", "mixamorig:RightArm":
             "rightUpperArm", "mixamorig:LeftForeArm": "leftLowerArm", "upper_arm.L": "leftUpperArm",
             "forearm.R": "rightLowerArm", "thigh_l": "leftUpperLeg", "calf_r": "rightLowerLeg",
             "J_Bip_L_UpperArm": "leftUpperArm", "DEF-shin.L": "leftLowerLeg", "mixamorig:LeftToeBase": "leftToes",
             "Head": "head", "eye.R": "rightEye", "mixamorig:HeadTop_End": None, "f_index.01.L": "leftIndexProximal"}
    for name, bone in cases.items():
        assert _bone_for(*_canonical(name)) == bone, name


def test_mixamo_names_and_spine_order_are_found(tmp_path):
    mixamo = {b: f"mixamorig:{b[0].upper() + b[1:]}" for b in SKELETON}
    mixamo.update({"spine": "mixamorig:Spine", "chest": "mixamorig:Spine1", "leftUpperArm": "mixamorig:LeftArm",
                   "rightUpperArm": "mixamorig:RightArm", "leftLowerArm": "mixamorig:LeftForeArm",
                   "rightLowerArm": "mixamorig:RightForeArm", "leftUpperLeg": "mixamorig:LeftUpLeg",
                   "rightUpperLeg": "mixamorig:RightUpLeg", "leftLowerLeg": "mixamorig:LeftLeg",
                   "rightLowerLeg": "mixamorig:RightLeg", "leftToes": "mixamorig:LeftToeBase",
                   "rightToes": "mixamorig:RightToeBase"})
    info = inspect_avatar(make_humanoid(tmp_path / "m.glb", names=mixamo))
    assert info.bones_from == "node names" and info.kind == "glTF"
    assert info.bones == {b: mixamo[b] for b in SKELETON}


@pytest.mark.parametrize("version", ["1.0", "0.x"])
def test_a_vrm_humanoid_map_names_the_bones_whatever_the_nodes_are_called(tmp_path, version):
    odd = {b: f"node_{i:02d}" for i, b in enumerate(SKELETON)}
    info = inspect_avatar(make_humanoid(tmp_path / "a.vrm", names=odd, vrm=version))
    assert info.kind == f"VRM {version}" and info.bones_from == "VRM humanoid map"
    assert info.bones == {b: odd[b] for b in SKELETON} and info.has_eyes


@pytest.mark.parametrize("case, expected", [
    ("no_feet", "has no humanoid bones for: leftFoot, rightFoot (found bones: hips, spine, chest"),
    ("no_skin", "has no skin: it is not rigged"),
    ("not_gltf", "is not a glTF 2.0 (.gltf, .glb) or VRM (.vrm) file (no binary glTF header)"),
    ("missing", "was not found"),
    ("odd_names", "has no humanoid bones for: hips, spine, neck, head, leftUpperArm"),
    ("plain_vrm", "is a .vrm without a VRM extension"),
])
def test_a_broken_avatar_is_a_clear_error(tmp_path, case, expected):
    path = broken(tmp_path, case)
    with pytest.raises(AvatarError) as e:
        inspect_avatar(path)
    assert expected in str(e.value)


def broken(folder: Path, case: str) -> Path:
    path = folder / ("a.vrm" if case == "plain_vrm" else "a.glb")
    if case == "no_feet":
        make_humanoid(path, drop=("leftToes", "rightToes", "leftFoot", "rightFoot"))
    elif case == "no_skin":
        make_humanoid(path, skin=False)
    elif case == "not_gltf":
        path.write_bytes(b"PK\x03\x04 not a model")
    elif case == "odd_names":
        make_humanoid(path, names={b: f"bone{i}" for i, b in enumerate(SKELETON)})
    elif case == "plain_vrm":
        make_humanoid(path)
    return path


def write_scene(folder: Path, avatar: str) -> Path:
    (folder / "scenes").mkdir(exist_ok=True)
    path = folder / "scenes" / "clinic.yaml"
    path.write_text("schema_version: 1\nname: Clinic\nkind: social\nroom:\n  size_m: [6.0, 6.0, 2.8]\n"
                    "spawns:\n  - id: doctor\n    path_m: [[0.0, 1.5]]\n"
                    f"    avatar: {avatar}\n  - id: other\n    path_m: [[1.5, 1.5]]\n")
    (folder / "scenes" / "calm_room.yaml").write_bytes((ROOT / "scenes" / "calm_room.yaml").read_bytes())
    return path


def test_a_scene_names_an_avatar_relative_to_itself(tmp_path):
    (tmp_path / "scenes" / "avatars").mkdir(parents=True)
    make_humanoid(tmp_path / "scenes" / "avatars" / "clinician.glb")
    loaded = load_scene(write_scene(tmp_path, "avatars/clinician.glb"))
    assert loaded.config.spawns[0].avatar == "avatars/clinician.glb" and loaded.config.spawns[1].avatar is None
    assert loaded.avatar_files == {"doctor": tmp_path / "scenes" / "avatars" / "clinician.glb"}
    with pytest.raises(ConfigError) as e:
        load_scene(write_scene(tmp_path, "avatars/nobody.glb"))
    assert "clinic.yaml:9:5:" in str(e.value) and "avatar avatars/nobody.glb was not found" in str(e.value)
    assert load_scene(tmp_path / "scenes" / "clinic.yaml", avatars=False).avatar_files  # a record's copy


@pytest.mark.parametrize("case", ["no_feet", "no_skin", "not_gltf", "missing"])
def test_vr_validate_reports_a_broken_avatar_with_file_line_and_fix(tmp_path, case):
    (tmp_path / "scenes" / "avatars").mkdir(parents=True)
    broken(tmp_path / "scenes" / "avatars", case)
    scene = write_scene(tmp_path, "avatars/a.glb")
    profile = tmp_path / "profile.yaml"
    profile.write_text("schema_version: 1\nname: With a clinician\nscene: clinic\nsteps:\n"
                       "  - name: One person\n    humans: 1\n")
    run = subprocess.run([sys.executable, "-m", "vr", "validate", str(profile), "--scenes", str(tmp_path / "scenes")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"{scene}:9:5: avatar avatars/a.glb " in run.stderr
    if case == "no_feet":
        assert ("has no humanoid bones for: leftFoot, rightFoot (found bones: hips, spine, chest, neck, head, "
                "leftEye") in run.stderr
        assert ("name them as VRM humanoid bones or in the standard humanoid names "
                "(see docs/humans.md#your-own-avatar)") in run.stderr
    assert "scene 'clinic' has problems" in run.stderr


def test_every_required_bone_has_a_joint_in_our_rig():
    from vr.render.avatar import RETARGET, rig_joints

    names, _, _ = rig_joints()
    assert set(REQUIRED) <= set(RETARGET) and set(RETARGET.values()) <= set(names)


# -- rendered --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base():
    from vr.backends.panda import start_showbase

    b = offscreen_or_skip(lambda: start_showbase("offscreen", SIZE, "tests"))
    yield b
    b.destroy()


def front(base, center, film_h_m: float) -> float:
    """An orthographic camera looking at ``center`` from +Y (an avatar at yaw 0 faces it)."""
    from panda3d.core import OrthographicLens

    lens = OrthographicLens()
    lens.setFilmSize(film_h_m * SIZE[0] / SIZE[1], film_h_m)
    lens.setNearFar(0.1, 50)
    base.cam.node().setLens(lens)
    base.cam.setPos(center[0], center[1] + 10, center[2])
    base.cam.lookAt(*center)
    return film_h_m / SIZE[1]


def grab(base) -> np.ndarray:
    return grab_rgb(base)


def colour(image: np.ndarray, rgb) -> np.ndarray:
    return np.abs(image.astype(int) - np.array(rgb) * 255).max(axis=2) < 40


def pose(**turns) -> np.ndarray:
    """(J, 3, 3) local rotations of our rig: identity but for ``joint=(axis, degrees)``."""
    from vr.render.avatar import rig_joints

    names, _, _ = rig_joints()
    rot = np.tile(np.eye(3, dtype=np.float32), (len(names), 1, 1))
    for joint, (axis, deg) in turns.items():
        a = np.radians(deg)
        c, s = np.cos(a), np.sin(a)
        i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
        m = np.eye(3)
        m[i, i] = m[j, j] = c
        m[i, j], m[j, i] = -s, s
        rot[names.index(joint.replace("_", "."))] = m
    return rot


def shot(base, path: Path, local_rot=None, position=(1.0, 0.5), height_m: float = 1.7,
         root_shift=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, dict]:
    from vr.render.avatar import AvatarView

    for light in base.render.findAllMatches("**/+Light"):
        light.removeNode()
    view = AvatarView(path, base.render, height_m)
    view.apply(local_rot, position, 0.0, root_shift)
    front(base, (1.0, 0.5, 1.0), 2.4)
    image = grab(base)
    report = dict(view.report(), eye=view.eye_position())
    view.destroy()
    return image, report


def test_it_stands_where_placed_at_the_slots_height(base, tmp_path):
    image, report = shot(base, make_humanoid(tmp_path / "a.glb"))
    m_per_px = 2.4 / SIZE[1]
    ys, xs = np.nonzero(image.max(axis=2) > 20)
    top_z = 1.0 + (SIZE[1] / 2 - ys.min()) * m_per_px
    bottom_z = 1.0 + (SIZE[1] / 2 - ys.max()) * m_per_px
    assert abs(top_z - 1.7) < 0.02 and abs(bottom_z) < 0.02
    assert abs((SIZE[0] / 2 - xs.mean()) * m_per_px) < 0.03       # centred on x = 1.0 (the camera's)
    assert abs(report["rest_stature_m"] - 1.0) < 1e-3 and report["bones_from"] == "node names"
    # facing +Y: the nose is in front, toward the camera; the eyes near the top of the head
    assert colour(image, NOSE_RGB).sum() > 10
    ex, ey, ez = report["eye"]
    assert abs(ex - 1.0) < 0.01 and ey > 0.5 and abs(ez - 0.92 * 1.7) < 0.02


def test_a_head_turn_moves_the_head_and_an_arm_raise_lifts_the_arm(base, tmp_path):
    path = make_humanoid(tmp_path / "a.glb")
    still, _ = shot(base, path)
    turned, rep = shot(base, path, pose(head=("z", 40)))
    cols = np.arange(SIZE[0])
    nose = [(colour(img, NOSE_RGB).sum(axis=0) * cols).sum() / colour(img, NOSE_RGB).sum() for img in (still, turned)]
    # a heading turns the head to the body's left; facing the camera, that is the picture's right
    assert nose[1] - nose[0] > 3
    below_neck = slice(int(SIZE[1] / 2 + (1.0 - 0.80 * 1.7) / (2.4 / SIZE[1])), None)
    assert np.array_equal(still[below_neck], turned[below_neck])
    # the left arm swung out sideways by 90 degrees about the body's forward axis (-Y) reaches shoulder height
    raised, _ = shot(base, path, pose(upperarm01_L=("y", -90)))
    arm_rows = [np.nonzero(colour(img, LEFT_ARM_RGB).any(axis=1))[0] for img in (still, raised)]
    assert arm_rows[1].max() < arm_rows[0].max() - 50          # the hand is far higher
    # at rest the arm (bound hanging straight down) takes our rig's A-pose: about 43 degrees out
    assert 0.6 < arm_slope(still) < 1.3


def arm_slope(image: np.ndarray) -> float:
    """Width over height of the left arm's pixels."""
    ys, xs = np.nonzero(colour(image, LEFT_ARM_RGB))
    return float(np.ptp(xs) / max(np.ptp(ys), 1))


def test_the_posing_pass_drives_it_standing_seated_and_crossing_its_arms(base, tmp_path):
    from test_posing import run, state

    from vr.render import posing
    from vr.render.avatar import root_shift_m

    rig = posing.build_rig([1, 2, 3], [1.7, 1.7, 1.7], ["female"] * 3)
    h = state(3, posture=np.array([0, 2, 0], np.int8), gesture=np.array([0, 0, 5], np.int8))
    crowd = run(posing.CrowdPoser(rig), h, 120)
    path = make_humanoid(tmp_path / "a.glb")
    images = []
    for i in range(3):
        shift = root_shift_m(crowd.skin[i, 0], rig.joint_heads_m[i, 0], float(rig.scale[i]), rig.shift_m[i],
                             (0.0, 0.0), 0.0)
        images.append(shot(base, path, crowd.local_rot[i], root_shift=shift)[0])
    standing, seated, crossed = images
    assert arm_slope(standing) < 0.4                      # the arms hang by the sides
    m_per_px = 2.4 / SIZE[1]
    tops = [np.nonzero(img.max(axis=2) > 20)[0].min() for img in images]
    bottoms = [np.nonzero(img.max(axis=2) > 20)[0].max() for img in images]
    assert (tops[1] - tops[0]) * m_per_px > 0.3            # seated: the head is far lower ...
    assert abs(bottoms[1] - bottoms[0]) * m_per_px < 0.05  # ... and the feet still on the floor
    body_rows = slice(int(SIZE[1] / 2 - 0.3 / m_per_px), int(SIZE[1] / 2 - 0.05 / m_per_px))   # z 1.05-1.3 m
    arm = colour(crossed[body_rows], LEFT_ARM_RGB)
    assert arm.any() and np.nonzero(arm.any(axis=0))[0].min() < SIZE[0] / 2   # the left forearm crosses the body


@pytest.mark.parametrize("variant", ["vrm1", "vrm0_backwards", "twisted", "gltf_text"])
def test_vrm_maps_odd_orientations_and_text_gltf_pose_as_the_plain_one(base, tmp_path, variant):
    moves = pose(head=("z", 30), upperarm01_L=("y", -60), lowerarm01_L=("x", 50), upperleg01_R=("x", 30),
                 spine01=("y", 10))
    plain, _ = shot(base, make_humanoid(tmp_path / "plain.glb"), moves)
    odd = {b: f"node_{i:02d}" for i, b in enumerate(SKELETON)}
    path = {"vrm1": lambda: make_humanoid(tmp_path / "a.vrm", names=odd, vrm="1.0", twisted=True),
            "vrm0_backwards": lambda: make_humanoid(tmp_path / "a.vrm", names=odd, vrm="0.x", backwards=True),
            "twisted": lambda: make_humanoid(tmp_path / "t.glb", twisted=True),
            "gltf_text": lambda: make_humanoid(tmp_path / "t.gltf")}[variant]()
    image, _ = shot(base, path, moves)
    differ = np.abs(image.astype(int) - plain.astype(int)).max(axis=2) > 40
    assert differ.sum() < 30, differ.sum()        # edge pixels only (float rounding along box edges)
    assert colour(image, NOSE_RGB).sum() > 10


def test_without_eye_bones_the_eyes_are_placed_over_the_head_and_turn_with_it(base, tmp_path):
    path = make_humanoid(tmp_path / "a.glb", drop=("leftEye", "rightEye"))
    assert not inspect_avatar(path).has_eyes
    _, rest = shot(base, path)
    _, turned = shot(base, path, pose(head=("z", 60)))
    assert abs(rest["eye"][2] - 0.936 * 1.7) < 0.01 and abs(rest["eye"][0] - 1.0) < 0.01
    # the head turned to the body's left (world -X for an avatar facing +Y): the eyes go with it
    assert turned["eye"][0] < rest["eye"][0] - 0.05


# -- in a session ----------------------------------------------------------------------------------


def _session_shot(base, tmp_path: Path, with_avatars: bool):
    """The clinic scene (an avatar at 'doctor', a generated person at 'other') after 3 s of a session."""
    from panda3d.core import PerspectiveLens, Point2

    from vr.config import load_profile
    from vr.render.world_view import WorldView
    from vr.sim import FrameInputs
    from vr.sim.procedure import new_session

    (tmp_path / "scenes" / "avatars").mkdir(parents=True, exist_ok=True)
    make_humanoid(tmp_path / "scenes" / "avatars" / "clinician.glb")
    write_scene(tmp_path, "avatars/clinician.glb")
    profile = tmp_path / "profile.yaml"
    profile.write_text("schema_version: 1\nname: With a clinician\nscene: clinic\nsteps:\n"
                       "  - name: Two people\n    humans: 2\n    dialogue:\n      lines_per_min: 0\n")
    loaded = load_profile(profile, scene_dirs=[tmp_path / "scenes"])
    session = new_session(loaded, 3)
    for light in base.render.findAllMatches("**/+Light"):
        light.removeNode()
    view = WorldView(base.render, None, {"clinic": loaded.scene.config, "calm_room": loaded.safe_scene.config},
                     session.human_seed, session.height_m,
                     avatars=loaded.scene.avatar_files if with_avatars else None)
    try:
        for _ in range(90):
            world, _ = session.step(FrameInputs(session.head), 1 / 30)
            view.apply(world, 1 / 30, world.head.position_m[:2])
        lens = PerspectiveLens()
        lens.setFov(70, 110)
        lens.setNearFar(0.05, 50)
        base.cam.node().setLens(lens)
        base.cam.setPos(*world.head.position_m)
        base.cam.setHpr(-22, -8, 0)
        base.graphicsEngine.renderFrame()
        image = grab(base)
        out = dict(place=world.humans.place.copy(), present=world.humans.present.copy(),
                   position=world.humans.position_m.copy(), height=world.humans.height_m.copy(),
                   shown=view.shown.copy(), crowd=view.crowd.drawn.copy(),
                   avatar_height=[v.height_m for v in view.avatars.views.values()] if view.avatars else [])
        out["column"] = []    # each human's column in the picture, at 1 m up
        for x, y in world.humans.position_m:
            film = Point2()
            assert lens.project(base.cam.getRelativePoint(base.render, (x, y, 1.0)), film)
            out["column"].append((film.x + 1) / 2 * SIZE[0])
        if SHOTS:
            from PIL import Image

            Image.fromarray(image).save(SHOTS / f"avatar_in_session_{with_avatars}.png")
        return image, out
    finally:
        view.destroy()


def test_a_scene_place_draws_its_avatar_where_the_session_puts_that_slot(base, tmp_path):
    image, got = _session_shot(base, tmp_path, with_avatars=True)
    plain, got_plain = _session_shot(base, tmp_path / "plain", with_avatars=False)
    assert got["present"].all() and sorted(got["place"]) == [0, 1]
    doctor, other = int(np.flatnonzero(got["place"] == 0)[0]), int(np.flatnonzero(got["place"] == 1)[0])
    # the slot at the avatar's place is drawn as the avatar, not as a generated person, at its height
    assert got["shown"].all() and not got["crowd"][doctor] and got["crowd"][other]
    assert got["avatar_height"] == [pytest.approx(got["height"][doctor])]
    # the avatar's red head stands at the doctor's column; the generated person there is gone
    red = (image[..., 0] > 90) & (image[..., 0] > 2.2 * image[..., 1]) & (image[..., 0] > 2.2 * image[..., 2])
    ys, xs = np.nonzero(red)
    assert len(xs) > 40, "the avatar's head is not in the picture"
    assert abs(xs.mean() - got["column"][doctor]) < 12
    assert abs(xs.mean() - got["column"][other]) > 60
    band = lambda img, col: img[:, max(int(col) - 15, 0): int(col) + 15].astype(int)   # noqa: E731
    assert np.abs(band(image, got["column"][doctor]) - band(plain, got["column"][doctor])).max(axis=2).mean() > 8
    # the generated person at the other place is unchanged by the avatar
    assert np.abs(band(image, got["column"][other]) - band(plain, got["column"][other])).max(axis=2).mean() < 2
    assert not ((plain[..., 0] > 90) & (plain[..., 0] > 2.2 * plain[..., 1])
                & (plain[..., 0] > 2.2 * plain[..., 2])).sum() > 40
