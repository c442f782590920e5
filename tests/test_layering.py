"""The pure core imports no engine, headset runtime or ML stack (DESIGN.md contract)."""

import subprocess
import sys

HEAVY = ("panda3d", "direct", "xr", "torch", "transformers")


def test_sim_and_config_import_nothing_heavy():
    code = ("import sys, vr.sim, vr.config, vr.record\n"
            f"heavy = sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r})\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_imports_nothing_heavy():
    code = ("import sys\nfrom vr.cli import build_parser\nbuild_parser()\n"
            f"print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
