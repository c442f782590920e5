"""The OpenXR headset backend, on pyopenxr: stereo rendering, tracking, controllers, lifecycle.

- ``instance``: find the runtime, negotiate extensions, describe the headset (``probe`` for
  ``vr doctor``); ``HeadsetUnavailable`` and ``HeadsetRefused`` carry what to do next.
- ``session``: the OpenXR session, its state machine, swapchains and frames (no Panda3D).
- ``controllers``: one action set with bindings for the common controller families.
- ``gl``: the GL handles and the texture copy, through ctypes.
- ``backend``: ``OpenXRBackend``, the Panda3D side, behind the screen backends' interface.

Importing this package imports neither pyopenxr nor Panda3D; pyopenxr (which switches PyOpenGL's
platform when imported) is imported only when a headset is actually looked for.
"""
