"""The pure core imports no engine, headset runtime or ML stack (DESIGN.md contract), and imports
point down the layers only: config, sim, record, dialogue, backends, console, render, app, cli."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


# -- layering: imports point downward only --------------------------------------------------------

LAYERS = ("config", "sim", "record", "dialogue", "backends", "console", "render", "app", "cli")
EXEMPT = ("__init__.py", "__main__.py")          # vr/__init__.py and vr/__main__.py sit above the layers
ENGINE = ("panda3d", "direct")                   # the console runs in its own process, without Panda3D
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "vr"


def _layer(module: str) -> str | None:
    """The layer of a ``vr`` module name (``vr.sim.types`` -> 'sim', ``vr.cli`` -> 'cli'), or None."""
    parts = module.split(".")
    if parts[0] != "vr" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _imported(tree: ast.AST, package: str) -> list[tuple[int, str, str]]:
    """(line, module name, source text) of every import in ``tree``, in functions too; ``package`` is
    the importing file's package (for relative imports). ``from vr import sim`` names ``vr.sim``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module == "vr":   # the names are the package's modules (``from vr import app``)
                found += [(node.lineno, f"vr.{alias.name}", ast.unparse(node)) for alias in node.names]
            else:
                found.append((node.lineno, module, ast.unparse(node)))
    return found


def layering_violations(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every import under ``package_dir`` (the ``vr`` package's folder) that points up the layers,
    and every engine import in its console, as 'file:line: what is wrong: the import'."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    out = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir)
        if len(rel.parts) == 1 and rel.name in EXEMPT:
            continue
        parts = ("vr", *rel.with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = ".".join(parts[:-1])
        where = f"{package_dir.name}/{rel.as_posix()}"
        layer = _layer(module)
        if layer is None:
            out.append(f"{where}:1: in no layer; put it in one of {', '.join(LAYERS)} (tests/test_layering.py)")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target, text in _imported(tree, package):
            above = _layer(target)
            if above is not None and rank[above] > rank[layer]:
                out.append(f"{where}:{line}: {layer} imports {above}, a higher layer: {text}")
            if layer == "console" and target.split(".")[0] in ENGINE:
                out.append(f"{where}:{line}: the console imports the engine ({target}): {text}")
    return out


def test_imports_point_down_the_layers():
    found = layering_violations()
    assert not found, ("imports that point up the layers (" + " < ".join(LAYERS) + "), or Panda3D in the "
                       "console; move the code down or pass it in:\n" + "\n".join(found))


def test_the_layering_check_finds_an_upward_import(tmp_path):
    root = tmp_path / "vr"
    for name, text in {
        "__init__.py": "from vr.cli import main\n",              # exempt: the package sits above the layers
        "cli.py": "from vr.app import run\n",
        "app/__init__.py": "",
        "app/run.py": "from ..sim import types\nfrom vr import render\n",
        "render/view.py": "import panda3d.core\n",
        "sim/__init__.py": "",
        "sim/types.py": "import math\nfrom vr.config import load\n\n\ndef later():\n    from vr.app import run\n",
        "sim/step.py": "from .. import record\nfrom . import types\n",
        "console/state.py": "from vr.sim import types\nfrom vr.render import view\n",
        "console/page.py": "def grab():\n    import direct.showbase\n",
        "util.py": "",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert layering_violations(root) == [
        "vr/console/page.py:2: the console imports the engine (direct.showbase): import direct.showbase",
        "vr/console/state.py:2: console imports render, a higher layer: from vr.render import view",
        "vr/sim/step.py:1: sim imports record, a higher layer: from .. import record",
        "vr/sim/types.py:6: sim imports app, a higher layer: from vr.app import run",
        "vr/util.py:1: in no layer; put it in one of config, sim, record, dialogue, backends, console, render, app, "
        "cli (tests/test_layering.py)",
    ]
