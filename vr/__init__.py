"""Virtual-reality exposure therapy and pain distraction toolkit.

Layers, lowest first: ``vr.config`` (validated YAML), ``vr.sim`` (the pure session core),
``vr.record`` (session records), ``vr.app`` (frame loops), ``vr.cli`` (the ``vr`` command).
Importing ``vr`` itself does nothing else.
"""

__version__ = "0.1.0"
