"""Display and tracking backends: where frames go and where the head pose comes from.

``offscreen`` renders with no display (tests, headless demo runs); ``desktop`` opens a window
with mouse-look and keyboard controls. Each sets up Panda3D itself when opened, never at import.
"""
