"""Finding the OpenXR runtime, negotiating extensions, and describing the headset.

``open_instance`` creates the instance and picks the system; ``probe`` does the same for
``vr doctor`` and ``--backend auto`` and tears everything down again. Both report what the loader
printed, because its own messages are often the only clue to a broken installation.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

OPENGL = "XR_KHR_opengl_enable"
EGL = "XR_MNDX_egl_enable"
APP_NAME = "vr exposure"
ENGINE_NAME = "Panda3D"

INSTALL_HINT = """\
No OpenXR runtime answered. A headset needs its runtime installed, running and set as the
active OpenXR runtime:
  - SteamVR (Valve Index, HTC Vive, most PC headsets): start SteamVR; Settings > OpenXR >
    "Set SteamVR as OpenXR runtime".
  - Meta Quest Link or Air Link: the Meta Quest Link app, Settings > General > OpenXR Runtime >
    "Set Meta Quest Link as active".
  - Monado (Linux, open source): install monado and start monado-service.
  - Windows Mixed Reality: the Mixed Reality Portal (its OpenXR runtime is built in).
The loader finds the active runtime through XR_RUNTIME_JSON or the system's active_runtime.json.
Without a headset: `vr run --backend desktop` opens the desktop preview, and
`--backend offscreen` runs headless."""


class HeadsetUnavailable(RuntimeError):
    """No runtime, or a runtime with no headset connected. The message says what to do."""


class HeadsetRefused(RuntimeError):
    """The runtime answered but lacks something this backend needs (an extension, a format)."""


@dataclass
class ViewInfo:
    recommended_size: tuple[int, int]
    max_size: tuple[int, int]
    recommended_samples: int


@dataclass
class SystemInfo:
    """What ``vr doctor`` prints and the session record keeps about the headset."""

    loader: str = ""
    runtime_name: str = ""
    runtime_version: str = ""
    extensions: dict[str, int] = field(default_factory=dict)
    enabled_extensions: list[str] = field(default_factory=list)
    system_name: str = ""
    vendor_id: int = 0
    views: list[ViewInfo] = field(default_factory=list)
    blend_modes: list[str] = field(default_factory=list)
    position_tracking: bool = False
    orientation_tracking: bool = False
    max_swapchain_size: tuple[int, int] = (0, 0)
    graphics_binding: str = ""
    opengl_range: tuple[str, str] = ("", "")

    def to_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def loader_messages() -> Iterator[list[str]]:
    """Capture what the OpenXR loader writes to stderr (fd 2) while the block runs."""
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines.extend(line for line in tmp.read().decode(errors="replace").splitlines() if line.strip())


def _loader_said(messages: list[str], error: Exception) -> str:
    """The loader's last few messages, without their boilerplate prefix."""
    lines = [m.split("] : ", 1)[-1].strip() for m in messages[-4:]] or [str(error)]
    return "The OpenXR loader said:\n" + "\n".join(f"  {line}" for line in lines)


def _version(v: int) -> str:
    return f"{(v >> 48) & 0xFFFF}.{(v >> 32) & 0xFFFF}.{v & 0xFFFFFFFF}"


def binding_for(extensions: dict[str, int], headless: bool) -> tuple[str, list[str]]:
    """The graphics binding for this platform and the extensions it needs, or ``HeadsetRefused``.

    GL through an X11 window (GLX) or Windows (WGL) needs ``XR_KHR_opengl_enable``; rendering with
    no display goes through EGL, which needs ``XR_MNDX_egl_enable`` as well.
    """
    if OPENGL not in extensions:
        raise HeadsetRefused(f"the OpenXR runtime does not offer {OPENGL}, which this application needs "
                             "(it renders with OpenGL); runtimes that do: SteamVR, Monado, Meta Quest Link, WMR")
    if headless:
        if EGL not in extensions:
            raise HeadsetRefused(f"no display here, and the runtime does not offer {EGL} for rendering without one; "
                                 "run on the desktop session that shows the mirror window, or use a runtime with "
                                 "EGL support (Monado)")
        return "egl", [OPENGL, EGL]
    return ("wgl" if os.name == "nt" else "glx"), [OPENGL]


def runtime_extensions() -> tuple[dict[str, int], list[str]]:
    """The runtime's instance extensions (name -> version), or ``HeadsetUnavailable``."""
    import xr

    with loader_messages() as messages:
        try:
            props = xr.enumerate_instance_extension_properties()
        except xr.XrException as e:
            error: Exception | None = e
        else:
            error = None
    if error is not None:
        raise HeadsetUnavailable(f"{INSTALL_HINT}\n{_loader_said(messages, error)}")
    names = {}
    for p in props:
        name = p.extension_name
        names[name.decode() if isinstance(name, bytes) else name] = int(p.extension_version)
    return names, messages


def open_instance(headless: bool, app_name: str = APP_NAME):
    """Create the instance and get the head-mounted system: ``(instance, system_id, SystemInfo)``."""
    import xr

    extensions, _ = runtime_extensions()
    binding, enable = binding_for(extensions, headless)
    info = xr.InstanceCreateInfo(
        application_info=xr.ApplicationInfo(application_name=app_name, application_version=1,
                                            engine_name=ENGINE_NAME, engine_version=1,
                                            api_version=xr.Version(1, 0, 0)),
        enabled_extension_names=enable)
    with loader_messages() as messages:
        try:
            instance = xr.create_instance(info)
        except xr.ExtensionNotPresentError:
            instance = None
            refused = True
        except xr.XrException as e:
            instance, refused = None, False
            failure = e
    if instance is None:
        if refused:
            raise HeadsetRefused(f"the OpenXR runtime refused the extensions {', '.join(enable)} although it lists "
                                 "them; update or reinstall the runtime")
        raise HeadsetUnavailable(f"{INSTALL_HINT}\n{_loader_said(messages, failure)}")
    try:
        system_id, sysinfo = _describe(instance, extensions, enable, binding)
    except BaseException:
        xr.destroy_instance(instance)
        raise
    return instance, system_id, sysinfo


def _describe(instance, extensions: dict[str, int], enabled: list[str], binding: str):
    import xr

    props = xr.get_instance_properties(instance)
    name = props.runtime_name
    sysinfo = SystemInfo(loader=f"pyopenxr {xr.__version__}, OpenXR {xr.XR_CURRENT_API_VERSION}",
                         runtime_name=name.decode() if isinstance(name, bytes) else str(name),
                         runtime_version=_version(int(props.runtime_version)), extensions=dict(sorted(extensions.items())),
                         enabled_extensions=list(enabled), graphics_binding=binding)
    try:
        system_id = xr.get_system(instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
    except (xr.FormFactorUnavailableError, xr.FormFactorUnsupportedError) as e:
        raise HeadsetUnavailable(f"the OpenXR runtime {sysinfo.runtime_name} is running but sees no headset "
                                 f"({type(e).__name__}); connect and switch on the headset, then try again") from None
    sp = xr.get_system_properties(instance, system_id)
    sysname = sp.system_name
    sysinfo.system_name = sysname.decode() if isinstance(sysname, bytes) else str(sysname)
    sysinfo.vendor_id = int(sp.vendor_id)
    sysinfo.max_swapchain_size = (int(sp.graphics_properties.max_swapchain_image_width),
                                  int(sp.graphics_properties.max_swapchain_image_height))
    sysinfo.position_tracking = bool(sp.tracking_properties.position_tracking)
    sysinfo.orientation_tracking = bool(sp.tracking_properties.orientation_tracking)
    configs = list(xr.enumerate_view_configurations(instance, system_id))
    if xr.ViewConfigurationType.PRIMARY_STEREO not in [xr.ViewConfigurationType(int(c)) for c in configs]:
        raise HeadsetRefused(f"the headset {sysinfo.system_name} offers no stereo view configuration")
    for v in xr.enumerate_view_configuration_views(instance, system_id, xr.ViewConfigurationType.PRIMARY_STEREO):
        sysinfo.views.append(ViewInfo((int(v.recommended_image_rect_width), int(v.recommended_image_rect_height)),
                                      (int(v.max_image_rect_width), int(v.max_image_rect_height)),
                                      int(v.recommended_swapchain_sample_count)))
    sysinfo.blend_modes = [xr.EnvironmentBlendMode(int(m)).name for m in xr.enumerate_environment_blend_modes(
        instance, system_id, xr.ViewConfigurationType.PRIMARY_STEREO)]
    req = xr.get_opengl_graphics_requirements_khr(instance, system_id)
    sysinfo.opengl_range = (_version(int(req.min_api_version_supported)), _version(int(req.max_api_version_supported)))
    return system_id, sysinfo


def probe(headless: bool) -> SystemInfo:
    """Describe the runtime and headset without starting a session (``vr doctor``, ``--backend auto``)."""
    import xr

    instance, _, sysinfo = open_instance(headless, app_name=f"{APP_NAME} doctor")
    xr.destroy_instance(instance)
    return sysinfo
