"""Linting speed, in one run, as ratios against baselines measured in the same run.

Whole tree (the installed keras package's source, about 900 files):
  kerascheck check; libcst.parse_module of every file; of the files the prefilter keeps;
  ruff check --select ALL --no-cache; flake8 --select KER.
Per file, as an editor sees it (the flake8 plugin's work, given flake8's ast tree):
  median and worst time over the fixtures and a generated 500-line model file; the analysis
  time over the bare libcst parse of the same text (and over a parse with the collector off,
  and standalone with kerascheck's own ast parse), each timed in turn; a file without Keras.

Usage: python benchmarks/lint_bench.py [--tree PATH] [--repeat N] [--rounds N] [--json FILE]
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kerascheck.check import check_source  # noqa: E402
from kerascheck.sources import may_have_findings  # noqa: E402


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs: the least disturbed by whatever else the machine does."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def command(*args: str) -> Callable[[], object]:
    return lambda: subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {model or platform.processor()}, Python {platform.python_version()}"


MODEL_BLOCK = """
def build_{i}(units, steps=STEPS):
    inputs = keras.Input(shape=(steps, FEATURES))
    x = layers.Masking()(inputs)
    x = layers.Bidirectional(layers.LSTM(units, return_sequences=True))(x)
    x = layers.Dropout(0.2)(x)
    x = layers.GRU(units, return_sequences=True)(x)
    x = layers.TimeDistributed(layers.Dense(FEATURES))(x)
    model = keras.Model(inputs, x, name="model_{i}")
    model.compile(optimizer="adam", loss="mse")
    return model


class Block{i}(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.encoder = layers.LSTM(units)
        self.repeat = layers.RepeatVector(STEPS)
        self.decoder = layers.LSTM(units, return_sequences=True)
        self.head = layers.Dense(FEATURES)

    def call(self, inputs):
        return self.head(self.decoder(self.repeat(self.encoder(inputs))))
"""


def model_file(lines: int = 500) -> str:
    head = "import numpy as np\nimport keras\nfrom keras import layers\n\nSTEPS, FEATURES = 30, 8\n"
    blocks, i = [], 0
    while len((head + "".join(blocks)).splitlines()) < lines:
        blocks.append(MODEL_BLOCK.format(i=i))
        i += 1
    return head + "".join(blocks)


def parse_gc_off(text: str) -> cst.Module:
    """libcst's parse as kerascheck runs it: with the cyclic garbage collector off."""
    gc.disable()
    try:
        return cst.parse_module(text)
    finally:
        gc.enable()


def _libcst_reads(text: str) -> bool:
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError:
        return False
    return True


def per_file(texts: dict[str, str], rounds: int) -> dict[str, dict[str, float]]:
    """The flake8 plugin's work on each text beside libcst's bare parse of it.

    flake8 hands plugins the ast tree it parsed for all of them, so the tree is made outside the
    timing; ``standalone_s`` parses it too (as ``kerascheck check`` does). The three are taken in
    turn, ``rounds`` times, and the fastest of each kept: a slow moment of the machine then
    hits all three alike rather than one.
    """
    rows = {}
    for name, text in texts.items():
        tree = ast.parse(text)
        runs: dict[str, Callable[[], object]] = {
            "parse_s": lambda text=text: cst.parse_module(text),
            "parse_gc_off_s": lambda text=text: parse_gc_off(text),
            "analysis_s": lambda text=text, name=name, tree=tree: check_source(text, name, noqa=False, tree=tree),
            "standalone_s": lambda text=text, name=name: check_source(text, name, noqa=False),
        }
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(rounds):
            for key, run in runs.items():
                best[key] = min(best[key], best_of(1, run))
        best["over_parse"] = best["analysis_s"] / best["parse_s"] - 1
        best["over_parse_gc_off"] = best["analysis_s"] / best["parse_gc_off_s"] - 1
        rows[name] = best
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="tree to lint (default: the installed keras package)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-tree command")
    parser.add_argument("--rounds", type=int, default=21, help="rounds of the per-file measurement")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.tree is None:
        import keras

        args.tree = Path(keras.__file__).parent
    files = sorted(args.tree.rglob("*.py"))
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    kept = [t for t in texts if may_have_findings(t)]
    bindir = Path(sys.executable).parent
    figures: dict[str, object] = {"machine": machine(), "tree": str(args.tree), "files": len(files), "kept": len(kept)}

    tree: dict[str, float] = {}
    tree["kerascheck check"] = best_of(args.repeat, command(str(bindir / "kerascheck"), "check", str(args.tree)))
    tree["libcst parse, all files"] = best_of(1, lambda: [cst.parse_module(t) for t in texts])
    tree["libcst parse, prefiltered files"] = best_of(args.repeat, lambda: [cst.parse_module(t) for t in kept])
    ruff = shutil.which("ruff", path=str(bindir)) or shutil.which("ruff")
    if ruff:
        tree["ruff check --select ALL --no-cache"] = best_of(
            args.repeat, command(ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", str(args.tree))
        )
    flake8 = shutil.which("flake8", path=str(bindir))
    if flake8:
        tree["flake8 --select KER"] = best_of(1, command(flake8, "--select", "KER", "--exit-zero", str(args.tree)))
    figures["tree_s"] = tree

    fixtures = {f"fixtures/{p.name}": p.read_text() for p in sorted((ROOT / "fixtures").glob("*.py"))}
    # Files without a whole-file noqa comment, and that libcst reads: the bare parse of a text it
    # refuses (tab indentation kerascheck reads as its spaces-only twin) is no baseline.
    editor = {name: text for name, text in fixtures.items() if may_have_findings(text) and _libcst_reads(text)}
    editor["generated 500-line model file"] = model_file()
    rows = per_file(editor, args.rounds)
    figures["per_file"] = rows
    plain = "import numpy as np\n\n" + "def f(x):\n    return np.sum(x) * 2\n\n" * 100
    no_keras = best_of(max(args.repeat, 20), lambda: check_source(plain, "plain.py"))
    figures["file_without_keras_s"] = no_keras

    print(f"machine: {figures['machine']}")
    print(f"tree: {args.tree} ({len(files)} files, {len(kept)} kept by the prefilter)")
    base = tree.get("ruff check --select ALL --no-cache")
    for name, seconds in tree.items():
        ratio = f"  {seconds / base:.2f}x ruff" if base else ""
        print(f"  {name:40} {seconds:7.2f} s{ratio}")
    ratio_kept = tree["kerascheck check"] / tree["libcst parse, prefiltered files"]
    print(f"  kerascheck / parse of the prefiltered files: {ratio_kept:.2f}x")
    overs = sorted(r["over_parse"] for r in rows.values())
    times = sorted(r["analysis_s"] for r in rows.values())
    print("per file (flake8 plugin work):")
    print(f"  median {statistics.median(times) * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms")
    print(f"  analysis over the bare parse: median {statistics.median(overs):+.0%}, worst {overs[-1]:+.0%}")
    strict = sorted(r["over_parse_gc_off"] for r in rows.values())
    print(
        "  over a parse with the collector off (as kerascheck parses):"
        f" median {statistics.median(strict):+.0%}, worst {strict[-1]:+.0%}"
    )
    alone = sorted(r["standalone_s"] / r["parse_s"] - 1 for r in rows.values())
    print(f"  the same with kerascheck's own ast parse: median {statistics.median(alone):+.0%}, worst {alone[-1]:+.0%}")
    big = rows["generated 500-line model file"]
    print(
        f"  500-line model file: {big['analysis_s'] * 1000:.1f} ms, {big['over_parse']:+.0%} over the parse"
        f" ({big['over_parse_gc_off']:+.0%} over the parse with the collector off)"
    )
    print(f"  a file without Keras: {no_keras * 1000:.3f} ms")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
