"""``vr doctor``: is a headset ready, and if not, what to do about it.

Prints the OpenXR loader, the runtime's name and version, its extensions, the headset's name,
view sizes and tracking, the graphics binding this machine would use and the controller
families the app binds. Exit status: 0 ready, 3 a runtime that lacks something we need,
4 no runtime or no headset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from vr.backends.openxr.controllers import PROFILES

EXIT_READY, EXIT_REFUSED, EXIT_UNAVAILABLE = 0, 3, 4


def headless() -> bool:
    """True where no window can open, so the headset backend would render through EGL."""
    return not (os.name == "nt" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def diagnose(no_display: bool) -> tuple[int, dict]:
    """``(exit status, findings)``; findings hold what was learnt even when something failed."""
    from vr.backends.openxr.instance import HeadsetRefused, HeadsetUnavailable, probe, runtime_extensions

    findings: dict = {"display": not no_display, "interaction_profiles": list(PROFILES)}
    try:
        import xr
    except ImportError as e:
        findings["problem"] = f"pyopenxr is not installed ({e}); install the project with scripts/setup.sh"
        return EXIT_UNAVAILABLE, findings
    findings["loader"] = f"pyopenxr {xr.__version__}, OpenXR {xr.XR_CURRENT_API_VERSION}"
    findings["runtime_json"] = os.environ.get("XR_RUNTIME_JSON", "")
    try:
        extensions, _ = runtime_extensions()
        findings["extensions"] = extensions
        findings["system"] = probe(no_display).to_dict()
    except HeadsetUnavailable as e:
        findings["problem"] = str(e)
        return EXIT_UNAVAILABLE, findings
    except HeadsetRefused as e:
        findings["problem"] = str(e)
        return EXIT_REFUSED, findings
    return EXIT_READY, findings


def render(status: int, f: dict) -> str:
    lines = [f"OpenXR loader   {f.get('loader', 'not available')}"]
    if f.get("runtime_json"):
        lines.append(f"XR_RUNTIME_JSON {f['runtime_json']}")
    s = f.get("system")
    if s:
        lines += [f"runtime         {s['runtime_name']} {s['runtime_version']}",
                  f"headset         {s['system_name']} (vendor {s['vendor_id']:#x})"]
        for eye, v in zip(("left", "right"), s["views"]):
            w, h = v["recommended_size"]
            mw, mh = v["max_size"]
            lines.append(f"{eye + ' eye':<16}{w}x{h} recommended, up to {mw}x{mh}, {v['recommended_samples']} sample(s)")
        lines += [f"tracking        orientation {'yes' if s['orientation_tracking'] else 'no'}, "
                  f"position {'yes' if s['position_tracking'] else 'no'}",
                  f"blend modes     {', '.join(s['blend_modes'])}",
                  f"graphics        {s['graphics_binding'].upper()} binding via {', '.join(s['enabled_extensions'])}; "
                  f"the runtime accepts OpenGL {s['opengl_range'][0]} to {s['opengl_range'][1]}"]
    if f.get("extensions"):
        names = sorted(f["extensions"])
        lines.append(f"extensions      {len(names)}: " + ", ".join(names))
    lines.append("controllers     bindings for " + ", ".join(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1]
                                                           for p in f["interaction_profiles"]))
    lines.append(f"display         {'yes: a mirror window shows the left eye' if f['display'] else 'none: EGL, no mirror'}")
    if status == EXIT_READY:
        lines.append("ready           vr run --backend openxr --profile exposure_profiles/public_speaking.yaml")
    else:
        lines += ["", f["problem"]]
        if status == EXIT_REFUSED:
            lines.append("Meanwhile: `vr run --backend desktop` (a window) or `--backend offscreen` (headless).")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    status, findings = diagnose(headless() if not args.no_display else True)
    if args.json:
        print(json.dumps({"status": status, **findings}, indent=2, default=str))
    else:
        print(render(status, findings), file=sys.stdout if status == EXIT_READY else sys.stderr)
    return status


def add_doctor_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the headset: OpenXR runtime, headset, views, graphics binding, controllers")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--no-display", action="store_true", help="check as if no display existed (EGL binding)")
    p.set_defaults(func=cmd_doctor)
