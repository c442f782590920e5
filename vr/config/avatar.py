"""A user's own avatar: read a rigged glTF 2.0 or VRM humanoid's JSON and find its humanoid bones.

Only the standard library is used (json and struct for a .glb's chunks), so a scene can be
checked without the engine and every mistake named precisely. A bone is found from VRM's
humanoid map where the file has one (VRM 1.0 ``extensions.VRMC_vrm.humanoid.humanBones``, VRM 0.x
``extensions.VRM.humanoid.humanBones``), else from the skeleton's node names, matched against the
standard humanoid names in their common spellings (``Hips``, ``mixamorig:LeftArm``,
``upper_arm.L``, ``J_Bip_L_UpperArm``, ``thigh_l``, ...).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = "docs/humans.md#your-own-avatar"
SUFFIXES = (".gltf", ".glb", ".vrm")
MAX_JSON_BYTES = 64 * 1024 * 1024

TORSO = ("hips", "spine", "chest", "upperChest", "neck", "head", "leftEye", "rightEye", "jaw")
LIMBS = tuple(f"{side}{part}" for side in ("left", "right") for part in (
    "Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes"))
FINGERS = tuple(f"{side}{finger}{joint}" for side in ("left", "right")
                for finger in ("Thumb", "Index", "Middle", "Ring", "Little")
                for joint in (("Metacarpal", "Proximal", "Distal") if finger == "Thumb"
                              else ("Proximal", "Intermediate", "Distal")))
HUMAN_BONES = TORSO + LIMBS + FINGERS
REQUIRED = ("hips", "spine", "neck", "head") + tuple(f"{side}{part}" for side in ("left", "right") for part in (
    "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot"))

# Spellings of a bone once its side, separators, case and rig prefix are gone (see ``_canonical``).
_ALIASES: dict[str, tuple[str, ...]] = {
    "hips": ("hips", "hip", "pelvis"), "neck": ("neck", "neck1", "neck01"), "head": ("head",),
    "jaw": ("jaw",), "Eye": ("eye",), "Shoulder": ("shoulder", "clavicle", "collar", "clav"),
    "UpperArm": ("upperarm", "arm", "uparm", "humerus"), "LowerArm": ("lowerarm", "forearm", "elbow"),
    "Hand": ("hand", "wrist"), "UpperLeg": ("upperleg", "upleg", "thigh"),
    "LowerLeg": ("lowerleg", "leg", "shin", "calf", "knee"), "Foot": ("foot", "ankle"),
    "Toes": ("toes", "toe", "toebase", "ball"),
}
_SPINE = re.compile(r"^(spine|torso|abdomen)(\d*)$")
_FINGER = re.compile(r"^(?:hand|f)?(thumb|index|middle|ring|pinky|little)0*(\d)$")
_PREFIX = re.compile(r"^(mixamorig\d*|armature|def|org|j_bip|cc_base|bip0*1|valvebiped_bip01)[_ .-]*", re.I)


class AvatarError(Exception):
    """An avatar file that cannot be used: ``message`` says what is wrong, ``fix`` what to do."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{message}; {fix}")
        self.message, self.fix = message, fix


@dataclass(frozen=True)
class AvatarInfo:
    """What a usable avatar file holds: its humanoid bones and where they came from."""

    path: Path
    kind: str                      # 'glTF', 'VRM 1.0' or 'VRM 0.x'
    bones_from: str                # 'VRM humanoid map' or 'node names'
    bones: dict[str, str]          # humanoid bone name -> node (joint) name, found bones only
    nodes: dict[str, int]          # humanoid bone name -> glTF node index

    @property
    def has_eyes(self) -> bool:
        return "leftEye" in self.bones and "rightEye" in self.bones


def read_gltf_json(path: Path) -> dict[str, Any]:
    """The JSON of a .gltf, or the JSON chunk of a .glb/.vrm; ``AvatarError`` if it is neither."""
    what = "a glTF 2.0 (.gltf, .glb) or VRM (.vrm) file"
    if path.suffix.lower() not in SUFFIXES:
        raise AvatarError(f"is not {what} (its name ends {path.suffix or 'without a suffix'!r})",
                          "export the avatar as .glb, .gltf or .vrm")
    try:
        with path.open("rb") as f:
            head = f.read(20)
            if head[:4] == b"glTF":
                version, _length, chunk_len, chunk_type = struct.unpack("<IIII", head[4:20])
                if version != 2:
                    raise AvatarError(f"is binary glTF version {version}", "export it as glTF 2.0")
                if chunk_type != 0x4E4F534A or chunk_len > MAX_JSON_BYTES:
                    raise AvatarError("is a damaged binary glTF (its first chunk is not JSON)",
                                      "export it again")
                raw = f.read(chunk_len)
            elif path.suffix.lower() == ".gltf":
                raw = head + f.read(MAX_JSON_BYTES)
            else:
                raise AvatarError(f"is not {what} (no binary glTF header)",
                                  "export the avatar as glTF 2.0 binary (.glb) or VRM")
    except OSError as e:
        raise AvatarError(f"cannot be read ({e.strerror or e})", "check the file's permissions") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise AvatarError(f"is not {what} (its JSON does not parse: {e})", "export the avatar again") from None
    if not isinstance(data, dict) or not isinstance(data.get("asset"), dict):
        raise AvatarError(f"is not {what} (no 'asset' block)", "export the avatar as glTF 2.0")
    version = str(data["asset"].get("version", ""))
    if not version.startswith("2."):
        raise AvatarError(f"is glTF version {version or 'unknown'}, not 2.0", "export it as glTF 2.0")
    return data


def _canonical(name: str) -> tuple[str, str]:
    """(side, base) of a node name: 'mixamorig:LeftUpLeg' -> ('left', 'upleg'), 'upper_arm.L' ->
    ('left', 'upperarm'), 'J_Bip_R_Hand' -> ('right', 'hand'), 'Spine1' -> ('', 'spine1')."""
    text = re.split(r"[:|]", name)[-1]
    text = _PREFIX.sub("", text).lower()
    text = re.sub(r"\.0*(\d+)$", r"\1", text)   # Blender's duplicates and chains: 'spine.001'
    text = re.sub(r"^c[_ .-]", "", text)       # VRoid's centre bones: J_Bip_C_Spine
    side = ""
    for word, label in (("left", "left"), ("right", "right")):
        if word in text:
            side, text = label, text.replace(word, "")
    if not side:
        m = re.match(r"^([lr])[_ .-](.+)$", text) or re.match(r"^(.+?)[_ .-]([lr])$", text)
        if m:
            letter = m.group(1) if len(m.group(1)) == 1 else m.group(2)
            side = "left" if letter == "l" else "right"
            text = m.group(2) if len(m.group(1)) == 1 else m.group(1)
    return side, re.sub(r"[^a-z0-9]", "", text)


def _bone_for(side: str, base: str) -> str | None:
    """The humanoid bone a canonical name spells, or None (spine bones are ordered later)."""
    for bone, spellings in _ALIASES.items():
        if base in spellings:
            if bone[0].isupper():
                return f"{side}{bone}" if side else None
            return None if side else bone
    if base in ("chest", "upperchest") and not side:
        return "chest" if base == "chest" else "upperChest"
    m = _FINGER.match(base)
    if m and side:
        finger = {"pinky": "Little"}.get(m.group(1), m.group(1).capitalize())
        steps = ("Metacarpal", "Proximal", "Distal") if finger == "Thumb" else ("Proximal", "Intermediate", "Distal")
        k = int(m.group(2)) - 1
        return f"{side}{finger}{steps[k]}" if 0 <= k < 3 else None
    return None


def _skeleton_nodes(data: dict[str, Any]) -> tuple[list[int], dict[int, int]]:
    """Nodes of the skins' skeletons (joints and the joint nodes below them) and each one's depth."""
    nodes = data.get("nodes", [])
    parents: dict[int, int] = {}
    for i, node in enumerate(nodes):
        for child in node.get("children", ()) if isinstance(node, dict) else ():
            if isinstance(child, int):
                parents[child] = i
    joints = {j for skin in data.get("skins", []) for j in skin.get("joints", ()) if isinstance(j, int)}
    found = [i for i in range(len(nodes)) if i in joints or (
        isinstance(nodes[i], dict) and "mesh" not in nodes[i] and any(a in joints for a in _ancestors(i, parents)))]

    def depth(i: int) -> int:
        return len(_ancestors(i, parents))

    return found, {i: depth(i) for i in found}


def _ancestors(i: int, parents: dict[int, int]) -> list[int]:
    out: list[int] = []
    while i in parents and len(out) < 1000:
        i = parents[i]
        out.append(i)
    return out


def _node_name(data: dict[str, Any], i: int) -> str:
    """The name Panda3D's glTF loader gives the joint made from node ``i``."""
    return str(data["nodes"][i].get("name", f"bone{i}"))


def _from_vrm(data: dict[str, Any]) -> tuple[str, dict[str, int]] | None:
    ext = data.get("extensions") or {}
    if isinstance(ext.get("VRMC_vrm"), dict):
        bones = (ext["VRMC_vrm"].get("humanoid") or {}).get("humanBones") or {}
        return "VRM 1.0", {b: v["node"] for b, v in bones.items()
                           if isinstance(v, dict) and isinstance(v.get("node"), int)}
    if isinstance(ext.get("VRM"), dict):
        bones = (ext["VRM"].get("humanoid") or {}).get("humanBones") or []
        found = {}
        for entry in bones if isinstance(bones, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("node"), int) and entry.get("node", -1) >= 0:
                name = str(entry.get("bone", ""))
                # VRM 0.x names the thumb's bones proximal, intermediate, distal (1.0: metacarpal, proximal, distal).
                name = re.sub(r"Thumb(Proximal|Intermediate)$",
                              lambda m: "ThumbMetacarpal" if m.group(1) == "Proximal" else "ThumbProximal", name)
                found[name] = entry["node"]
        return "VRM 0.x", found
    return None


def _from_names(data: dict[str, Any], candidates: list[int], depth: dict[int, int]) -> dict[str, int]:
    found: dict[str, int] = {}
    spine: list[int] = []
    for i in sorted(candidates, key=lambda n: (depth[n], n)):
        side, base = _canonical(_node_name(data, i))
        if not side and _SPINE.match(base):
            spine.append(i)
            continue
        bone = _bone_for(side, base)
        if bone is not None and bone not in found:
            found[bone] = i
    # Spine bones by depth: the first is 'spine', then 'chest' and 'upperChest' unless named so.
    free = [b for b in ("spine", "chest", "upperChest") if b not in found]
    for bone, i in zip(free, spine):
        found[bone] = i
    return found


def inspect_avatar(path: Path) -> AvatarInfo:
    """Check that ``path`` is a skinned glTF 2.0/VRM humanoid with the bones we pose; ``AvatarError`` if not."""
    if not path.is_file():
        raise AvatarError("was not found" if not path.exists() else "is not a file",
                          f"put the file at {path}, or give its path relative to the scene file's folder")
    data = read_gltf_json(path)
    vrm = _from_vrm(data)
    kind = vrm[0] if vrm else "glTF"
    if path.suffix.lower() == ".vrm" and vrm is None:
        raise AvatarError("is a .vrm without a VRM extension (VRMC_vrm or VRM)",
                          "export it again as VRM, or rename it .glb if it is plain glTF")
    nodes = data.get("nodes", [])
    skins = data.get("skins", [])
    if not isinstance(nodes, list) or not isinstance(skins, list) or not skins:
        raise AvatarError("has no skin: it is not rigged (no 'skins' in the file)",
                          "export it with its armature and skin weights")
    if not any(isinstance(n, dict) and "mesh" in n and "skin" in n for n in nodes):
        raise AvatarError("has a skeleton but no mesh skinned to it", "export the mesh with its armature modifier")
    candidates, depth = _skeleton_nodes(data)
    if vrm is not None:
        bones_from, found = "VRM humanoid map", {b: i for b, i in vrm[1].items() if b in HUMAN_BONES}
        outside = sorted(b for b, i in found.items() if i not in depth)
        if outside:
            raise AvatarError(f"maps humanoid bones to nodes outside the skin's skeleton: {', '.join(outside)}",
                              "map them to the armature's bones in the VRM humanoid settings")
    else:
        bones_from, found = "node names", _from_names(data, candidates, depth)
    missing = [b for b in REQUIRED if b not in found]
    if missing:
        have = ", ".join(b for b in HUMAN_BONES if b in found) or "none"
        raise AvatarError(f"has no humanoid bones for: {', '.join(missing)} (found bones: {have}; from its "
                          f"{bones_from})", "name them as VRM humanoid bones or in the standard humanoid names "
                          f"(see {DOCS})")
    names = {b: _node_name(data, i) for b, i in found.items()}
    counts: dict[str, int] = {}
    for i in candidates:
        counts[_node_name(data, i)] = counts.get(_node_name(data, i), 0) + 1
    twice = sorted(f"{b} ({n!r})" for b, n in names.items() if counts.get(n, 0) > 1)
    if twice:
        raise AvatarError(f"names more than one bone like its humanoid bones {', '.join(twice)}",
                          "give every bone of the armature its own name")
    return AvatarInfo(path, kind, bones_from, names, dict(found))
