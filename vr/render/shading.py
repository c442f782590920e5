"""One forward-lit shader for everything the toolkit draws.

Lambert diffuse with a soft wrap, Panda3D's ambient and up to eight directional, point or spot
lights, in linear light (gamma 2) with sRGB vertex colours in and sRGB out, computed per vertex
(see ``lit_shader``). One pass, no post-processing, so the same shader serves the desktop
window, offscreen buffers and each eye of a headset. (Panda3D's own shader generator emits Cg
for this GL profile, which Mesa's llvmpipe refuses; a post-processing pipeline per eye would
cost more than the lighting itself on a software renderer.)
"""

from __future__ import annotations

from panda3d.core import NodePath, Shader, ShaderAttrib

MAX_LIGHTS = 8

# The lights and the light loop, shared with the instanced crowd's shader (vr.render.crowd_view):
# ``toolkit_light(pos, n)`` is the light reaching a view-space point with unit normal ``n``, in
# linear light; a colour ``c`` (sRGB) is then ``sqrt(clamp(c * c * light, 0, 1))``.
LIGHTS_GLSL = """
uniform struct { vec4 ambient; } p3d_LightModel;
uniform struct p3d_LightSourceParameters {
    vec4 color;
    vec4 position;
    vec3 spotDirection;
    float spotCosCutoff;
    float spotExponent;
    vec3 attenuation;
} p3d_LightSource[%(n)d];
vec3 toolkit_light(vec3 pos, vec3 n) {
    vec3 light = p3d_LightModel.ambient.rgb * p3d_LightModel.ambient.rgb;
    for (int i = 0; i < %(n)d; ++i) {
        vec3 color = p3d_LightSource[i].color.rgb;
        vec4 lp = p3d_LightSource[i].position;
        vec3 l = lp.xyz - pos * lp.w;
        float dist = length(l);
        l /= max(dist, 1e-4);
        vec3 att = p3d_LightSource[i].attenuation;
        float fall = lp.w == 0.0 ? 1.0 : 1.0 / max(att.x + att.y * dist + att.z * dist * dist, 1e-4);
        float cutoff = p3d_LightSource[i].spotCosCutoff;
        if (cutoff > -1.0 && lp.w != 0.0) {
            float sc = dot(-l, normalize(p3d_LightSource[i].spotDirection));
            fall *= smoothstep(cutoff, mix(cutoff, 1.0, 0.35), sc);
        }
        light += color * (max((dot(n, l) + 0.25) * 0.8, 0.0) * fall);
    }
    return light;
}
"""

_VERT_LIT = """
#version 130
%(skin_decl)s
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform mat4 p3d_ModelViewMatrix;
uniform mat3 p3d_NormalMatrix;
uniform vec4 p3d_ColorScale;
%(lights)s
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;
out vec4 v_color;
void main() {
    vec4 vertex = p3d_Vertex;
    vec3 normal = p3d_Normal;
    %(skin_code)s
    gl_Position = p3d_ModelViewProjectionMatrix * vertex;
    vec3 pos = (p3d_ModelViewMatrix * vertex).xyz;
    vec3 n = normalize(p3d_NormalMatrix * normal);
    vec4 c = p3d_Color * p3d_ColorScale;
    vec3 base = c.rgb * c.rgb;
    v_color = vec4(sqrt(clamp(base * toolkit_light(pos, n), 0.0, 1.0)), c.a);
}
"""

FRAG_FLAT = """
#version 130
in vec4 v_color;
out vec4 o_color;
void main() { o_color = v_color; }
"""

# Batched humans: each part's transform is a row of Panda3D's transform table, applied here on the
# graphics card (hardware skinning) instead of re-computing every vertex on the CPU each frame.
MAX_TRANSFORMS = 48
_SKIN_DECL = """uniform mat4 p3d_TransformTable[%d];
in vec4 transform_weight;
in vec4 transform_index;""" % MAX_TRANSFORMS
_SKIN_CODE = """mat4 skin = p3d_TransformTable[int(transform_index.x)] * transform_weight.x
              + p3d_TransformTable[int(transform_index.y)] * transform_weight.y
              + p3d_TransformTable[int(transform_index.z)] * transform_weight.z
              + p3d_TransformTable[int(transform_index.w)] * transform_weight.w;
    vertex = skin * p3d_Vertex;
    normal = mat3(skin) * p3d_Normal;"""

_CACHE: dict[tuple[int, bool], Shader] = {}


def lit_shader(lights: int, skinned: bool = False) -> Shader:
    """The shader compiled for exactly ``lights`` non-ambient lights (a software renderer runs every
    loop iteration for every pixel, so unused slots would cost as much as used ones).

    Lighting runs per vertex: on a software renderer a per-pixel light loop cost about four times
    the rest of the frame (measured: 96 vs 18 ms for an empty stereo frame at 1024x1024 per eye),
    while the meshes are fine enough (people's small triangles, rooms split into 35 cm cells) for
    per-vertex light to look smooth. ``skinned`` reads each vertex's transform from Panda3D's
    transform table (batched humans)."""
    n = max(1, min(int(lights), MAX_LIGHTS))
    key = (n, skinned)
    if key not in _CACHE:
        vert = _VERT_LIT % {"lights": LIGHTS_GLSL % {"n": n}, "skin_decl": _SKIN_DECL if skinned else "",
                            "skin_code": _SKIN_CODE if skinned else ""}
        _CACHE[key] = Shader.make(Shader.SL_GLSL, vert, FRAG_FLAT)
    return _CACHE[key]


def apply_shading(root: NodePath, lights: int = MAX_LIGHTS, skinned: bool = False) -> None:
    """Light everything under ``root`` with the toolkit's shader, sized for ``lights`` lights."""
    attrib = ShaderAttrib.make(lit_shader(lights, skinned))
    if skinned:
        attrib = attrib.setFlag(ShaderAttrib.F_hardware_skinning, True)
    root.setAttrib(attrib, 1)
