"""Fuzz the YAML reader and the validators of profiles, scenes and line banks (prints JSON).

Every input must end in one of two ways: the file is accepted, or it is refused with a
``ConfigError`` whose message prints (what a clinician sees from ``vr validate``). Anything else
(a traceback, a hang past ``--slow-s``) is a failure, kept under ``--keep`` to reproduce.

Three sources of inputs, for each kind in turn (``--minutes`` each):
- **mutations** of the shipped files (exposure_profiles/, scenes/, dialogue/): bytes flipped,
  lines dropped, doubled, swapped or cut, and tokens YAML treats specially spliced in (anchors and
  aliases, merge keys, tags, flow brackets, tabs, NUL, a byte-order mark, invalid UTF-8, numbers
  YAML 1.1 misreads, a megabyte of text);
- **generated documents** (hypothesis): random trees of mappings, lists and scalars, alone and
  grafted onto a shipped file at a random key;
- **coverage-guided** (atheris, libFuzzer's engine, when installed: ``scripts/setup.sh --fuzz``):
  each kind's shipped files as the seed corpus, in a child process so libFuzzer's exit is its own.

    python bench/fuzz_config.py                       # 10 minutes per kind (30 in all)
    python bench/fuzz_config.py --minutes 1 --kinds scene
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = {"profile": "exposure_profiles", "scene": "scenes", "lines": "dialogue"}
TOKENS = [b"&a ", b"*a", b"<<: *a\n", b"!!python/object/apply:os.system ['true']", b"!!binary AAAA", b"!custom ",
          b"{", b"}", b"[", b"]", b"- ", b": ", b"? ", b"\t", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3\x28",
          b"1e309", b"-.inf", b".nan", b"0x1F", b"0o17", b"1_000", b"~", b"null", b"yes", b"no", b"on", b"2001-12-14",
          b'"\\u0000"', b"'''", b'"', b"|\n", b">-\n", b"%YAML 1.1\n---\n", b"---\n", b"...\n", b"#", b"\r",
          b"\x1b[31m", b"\xe2\x80\xae", b"x" * 5000, b"[" * 60, b"{a: " * 60]


def _target(kind: str):
    """The check for one input of ``kind``: (path) -> 'accepted' | 'refused'; raises on a fault."""
    from vr.config import ConfigError, load_scene
    from vr.config.load import load_lines, load_profile

    scenes = [ROOT / "scenes"]
    load = {"profile": lambda p: load_profile(p, scenes), "scene": load_scene, "lines": load_lines}[kind]

    def check(path: Path) -> str:
        try:
            load(path)
        except ConfigError as e:
            text = str(e)   # what vr validate prints: it must print
            if not text.strip():
                raise AssertionError("a refusal with no message") from None
            return "refused"
        return "accepted"

    return check


def _seeds(kind: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / KINDS[kind]).glob("*.yaml"))]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of ``data``."""
    for _ in range(rng.randint(1, 4)):
        lines = data.split(b"\n")
        op = rng.randrange(8)
        if op == 0 and data:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
        elif op == 1 and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif op == 2 and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == 3 and len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif op == 4 and data:
            data = data[:rng.randrange(len(data))]
        elif op == 5:
            i = rng.randrange(len(data) + 1)
            data = data[:i] + rng.choice(TOKENS) + data[i:]
        elif op == 6 and lines:   # a value replaced by a token
            i = rng.randrange(len(lines))
            key, sep, _ = lines[i].partition(b":")
            if sep:
                lines[i] = key + b": " + rng.choice(TOKENS)
                data = b"\n".join(lines)
        elif op == 7 and lines:   # a line re-indented
            i = rng.randrange(len(lines))
            lines[i] = b" " * rng.randrange(9) + lines[i].lstrip()
            data = b"\n".join(lines)
    return data


class Tally:
    def __init__(self, keep: Path, kind: str) -> None:
        self.keep, self.kind = keep, kind
        self.counts = {"accepted": 0, "refused": 0, "tracebacks": 0, "slow": 0}
        self.ms: list[float] = []
        self.failures: list[str] = []

    def fault(self, data: bytes, what: str) -> None:
        self.counts["tracebacks" if "Traceback" in what or "Error" in what else "slow"] += 1
        if len(self.failures) < 10:
            self.keep.mkdir(parents=True, exist_ok=True)
            name = self.keep / f"{self.kind}-{len(self.failures)}.yaml"
            name.write_bytes(data)
            self.failures.append(f"{name}: {what.strip().splitlines()[-1][:300]}")


def run_one(check, path: Path, data: bytes, tally: Tally, slow_s: float) -> None:
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        tally.counts[check(path)] += 1
    except Exception:   # noqa: BLE001 - any escape is the fault this script looks for
        tally.fault(data, traceback.format_exc())
    took = time.perf_counter() - started
    tally.ms.append(took * 1000.0)
    if took > slow_s:
        tally.fault(data, f"slow: {took:.2f} s")


def mutations(kind: str, seconds: float, tally: Tally, path: Path, rng: random.Random, slow_s: float) -> int:
    check, seeds, n = _target(kind), _seeds(kind), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        run_one(check, path, mutate(rng.choice(seeds), rng), tally, slow_s)
        n += 1
    return n


def generated(kind: str, seconds: float, tally: Tally, path: Path, rng: random.Random, slow_s: float) -> int:
    import yaml
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    check, seeds = _target(kind), [yaml.safe_load(s) for s in _seeds(kind)]
    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
               | st.sampled_from(["", "auditorium", "calm_room", "suds", "warm", "sitting", "1e309", "-1"]))
    keys = st.text(max_size=20) | st.sampled_from(["name", "scene", "steps", "safety", "humans", "room", "lines",
                                                    "kind", "id", "text", "band", "spawns", "patient", "duration_s"])
    trees = st.recursive(scalars, lambda kids: st.lists(kids, max_size=6) | st.dictionaries(keys, kids, max_size=6),
                         max_leaves=40)
    end = time.monotonic() + seconds
    count = [0]

    @settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(tree=trees, graft=st.booleans(), at=st.integers(0, 10_000))
    def one(tree, graft, at):
        if time.monotonic() >= end:
            return
        doc = tree
        if graft:
            base = json.loads(json.dumps(seeds[at % len(seeds)], default=str))
            if isinstance(base, dict) and base:
                key = sorted(base)[at % len(base)]
                base[key] = tree
            doc = base
        try:
            data = yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass")
        except (yaml.YAMLError, UnicodeEncodeError, RecursionError):
            return
        run_one(check, path, data, tally, slow_s)
        count[0] += 1

    while time.monotonic() < end:
        one()
    return count[0]


ATHERIS_CHILD = r"""
import sys, atheris, pathlib, tempfile
sys.path.insert(0, sys.argv[1])
with atheris.instrument_imports():
    import yaml
    import vr.config, vr.config.load, vr.config.yamlsrc
sys.path.insert(0, sys.argv[1] + "/bench")
from fuzz_config import _target
check = _target(sys.argv[2])
path = pathlib.Path(tempfile.mkdtemp(prefix="vr-fuzz-")) / "input.yaml"
count = pathlib.Path(sys.argv[3])
runs = [0]
def one(data):
    path.write_bytes(data)
    check(path)
    runs[0] += 1
    if runs[0] % 50 == 0:
        count.write_text(str(runs[0]))
atheris.Setup([sys.argv[0], *sys.argv[4:]], one)
atheris.Fuzz()
"""


def coverage_guided(kind: str, seconds: float, tally: Tally, rng: random.Random) -> dict:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return {"ran": False, "why": "atheris is not installed (scripts/setup.sh --fuzz installs it)"}
    corpus = Path(tempfile.mkdtemp(prefix=f"vr-fuzz-{kind}-corpus-"))
    for i, data in enumerate(_seeds(kind)):
        (corpus / f"seed{i}").write_bytes(data)
    crashes = tally.keep / f"atheris-{kind}-"
    tally.keep.mkdir(parents=True, exist_ok=True)
    counter = corpus.with_name(corpus.name + ".runs")
    args = [sys.executable, "-c", ATHERIS_CHILD, str(ROOT), kind, str(counter),
            f"-max_total_time={int(seconds)}", f"-seed={rng.randrange(1, 2**31)}", "-timeout=10",
            f"-artifact_prefix={crashes}", "-max_len=65536", "-print_final_stats=1", str(corpus)]
    # libFuzzer's own time limit is checked between inputs; on busy cores the start can take long,
    # so the child is also stopped at the deadline (its inputs counted by the child itself).
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    stopped = False
    try:
        _, err = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        stopped = True
    stats = {}
    for line in err.splitlines():
        if line.startswith("stat::"):
            name, _, value = line[6:].partition(":")
            stats[name.strip()] = value.strip()
    counted = int(counter.read_text()) if counter.exists() else 0
    runs = int(stats.get("number_of_executed_units", counted))
    failed = not stopped and proc.returncode != 0
    if failed:
        tally.counts["tracebacks"] += 1
        tally.failures.append(f"atheris ({kind}): exit {proc.returncode}: {err.strip().splitlines()[-1:]}")
    return {"ran": True, "inputs": runs, "exit": proc.returncode, "stopped_at_deadline": stopped,
            "corpus_files": len(list(corpus.iterdir())), "peak_rss_mb": stats.get("peak_rss_mb")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="per kind (default 10)")
    ap.add_argument("--kinds", default="profile,scene,lines")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow-s", type=float, default=2.0, help="an input that takes longer is a fault")
    ap.add_argument("--keep", default=str(Path(tempfile.gettempdir()) / "vr-fuzz-failures"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out: dict = {"bench": "fuzz_config", "command": "python bench/fuzz_config.py " + " ".join(sys.argv[1:]),
                 "platform": platform.platform(), "python": platform.python_version(), "kinds": {}}
    for kind in args.kinds.split(","):
        seconds = args.minutes * 60.0
        tally = Tally(Path(args.keep), kind)
        with tempfile.TemporaryDirectory(prefix="vr-fuzz-") as scratch:
            path = Path(scratch) / "input.yaml"
            started = time.monotonic()
            n_mut = mutations(kind, seconds * 0.4, tally, path, rng, args.slow_s)
            n_gen = generated(kind, seconds * 0.3, tally, path, rng, args.slow_s)
            guided = coverage_guided(kind, seconds * 0.3, tally, rng)
            took = time.monotonic() - started
        ms = sorted(tally.ms)
        out["kinds"][kind] = {
            "seconds": round(took, 1), "mutated_inputs": n_mut, "generated_inputs": n_gen, "coverage_guided": guided,
            **tally.counts, "median_ms": round(statistics.median(ms), 3) if ms else None,
            "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 3) if ms else None,
            "max_ms": round(ms[-1], 1) if ms else None, "failures": tally.failures}
    out["tracebacks"] = sum(k["tracebacks"] for k in out["kinds"].values())
    out["inputs"] = sum(k["mutated_inputs"] + k["generated_inputs"] + k["coverage_guided"].get("inputs", 0)
                        for k in out["kinds"].values())
    print(json.dumps(out, indent=2))
    return 1 if out["tracebacks"] else 0


if __name__ == "__main__":
    sys.exit(main())
