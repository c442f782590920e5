"""``python -m vr`` is the ``vr`` command."""

import sys

from vr.cli import main

sys.exit(main())
