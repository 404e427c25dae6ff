"""Work in proportion to what is found: ``kerascheck check`` on Keras-heavy code beside libcst's
bare parse of the files the prefilter keeps, on the same number of processes, in the same run.

Tree: the real-code corpus (materialize it first: ``python benchmarks/corpus.py --keep DIR
--mirrors MIRRORS``) and a generated notebook beside it, 150 cells with two fixable findings
each and, in one of them, a finding whose fix must be refused (``--each``: each on its own too). For each tree and each process count, round after round, in turn:

  check       ``kerascheck check --jobs N --exit-zero`` (a new process, the full report,
              start-up included; ``--no-cache`` when the command has a findings cache);
  parse       ``libcst.parse_module`` of each kept program (a notebook's: its code cells as one
              program) in this process, or over a pool of N processes (the pool's start
              included), the garbage collector on as a caller of libcst has it;
  parse, gc off  the same with the collector off, as kerascheck parses.

kerascheck's modules are compiled to bytecode first, as an installed package's are.
Each round gives the ratio check / parse, the runs of a round taken in turn (every other round
in the reverse order, so a machine growing busier or quieter weighs on both sides alike); the
figures are the medians over the rounds (a slow moment of a shared machine weighs on one round,
not on the median), with the lowest and highest round's ratio beside them. CPU seconds are given
beside the wall-clock ones: on a loaded machine they move less. Beside the times, counts that
no load moves: the checks the notebook's fix offers take, and the statements their graph builds
run, in whole builds of the module (``offer_checks``: a check copies what a statement shared
with an earlier check did unless it reads what the edits changed, see ``graph.replay``).

``--instructions`` counts instructions instead (valgrind's cachegrind, ``--cache-sim=no``), which
no load moves, on one process: the check as above (start-up and report included, ``--jobs 1``),
and the bare parse as what a process parsing the kept programs executes beyond the same process
reading them without parsing. Instructions are not time (a cache miss or a page fault costs no
instruction): the wall-clock figures say what a user waits, the counts whether a change made the
check do less. ``PYTHONHASHSEED=0`` in both, so a count repeats exactly.

Usage: python benchmarks/work_bench.py --tree DIR [--rounds N] [--jobs 1,2] [--cells N] [--refused N]
                                      [--each] [--instructions] [--json FILE]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kerascheck import fix, pipeline, sources  # noqa: E402
from kerascheck.check import analyse  # noqa: E402
from kerascheck.findings import SourceError  # noqa: E402

CELL = """\
# Model {i}: an encoder-decoder and a tagger, each with a finding a fix takes away.
inputs_{i} = keras.Input(shape=(30, 8))
encoded_{i} = layers.LSTM(32)(inputs_{i})
decoded_{i} = layers.LSTM(16)(encoded_{i})
tagged_{i} = layers.GRU(16, return_sequences=True)(inputs_{i})
tagged_{i} = TimeDistributed(layers.Dense(8))(tagged_{i})
model_{i} = keras.Model(inputs_{i}, [decoded_{i}, tagged_{i}])
model_{i}.compile(optimizer="adam", loss="mse")
"""
# A cell whose fix must be refused: return_sequences=True on LSTM(16) would make a KER101 below.
REFUSED = """\
flat_{i} = layers.Dense(4)(decoded_{i})
flat_{i} = layers.TimeDistributed(layers.Dense(2))(flat_{i})
"""


def notebook(cells: int, refused: int = 1) -> str:
    """A notebook of ``cells`` code cells (and a markdown cell between each), each with two
    fixable findings; ``refused`` of them (spread out) also with a finding whose fix is refused."""
    every = max(1, cells // refused) if refused else cells + 1
    sources_ = [
        "import numpy as np\nimport keras\nfrom keras import layers\nfrom keras.layers import TimeDistributed\n"
    ]
    sources_ += [CELL.format(i=i) + (REFUSED.format(i=i) if i % every == every // 2 else "") for i in range(cells)]
    body = []
    for i, text in enumerate(sources_):
        if i:
            body.append({"cell_type": "markdown", "metadata": {}, "source": [f"## Model {i - 1}\n"]})
        lines = text.splitlines(keepends=True)
        body.append({"cell_type": "code", "execution_count": i + 1, "metadata": {}, "outputs": [], "source": lines})
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return json.dumps({"cells": body, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def kept_programs(tree: Path) -> list[str]:
    """The programs of the files under ``tree`` that the prefilter keeps and libcst can read."""
    programs = []
    for path in sorted(p for p in tree.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()):
        try:
            program = pipeline.read(path).program
        except SourceError:
            continue
        if sources.may_have_findings(program):
            programs.append(program)
    return programs


def offer_checks(path: Path) -> tuple[int, int, float]:
    """The fixes offered for the notebook at ``path``, the checks (re-analyses of a fixed text,
    ``fix._fixed_counts``) it took to decide them, and the statements the checks' graph builds
    ran, in whole builds of the module, counted in this process."""
    program = pipeline.read(path).program
    analysis = analyse(program, str(path))
    assert analysis is not None
    layout = fix.Layout.of(analysis)
    assert layout is not None
    original = fix._fixed_counts
    calls = [0]

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    fix._fixed_counts = counted  # type: ignore[assignment]
    try:
        offered = fix.offers(analysis, str(path), layout)
    finally:
        fix._fixed_counts = original
    return len(offered), calls[0], layout.builds.counts["run"] / len(analysis.tree.body)


_PROGRAMS: list[str] = []  # what the pool's processes parse (inherited when forked)


def _parse_some(indices: list[int], collect: bool) -> None:
    if not collect:
        gc.disable()
    for i in indices:
        with contextlib.suppress(cst.ParserSyntaxError):
            cst.parse_module(_PROGRAMS[i])
    gc.enable()


def parse_over(programs: list[str], processes: int, collect: bool) -> Callable[[], None]:
    """A run of the bare parse over ``processes`` processes, the work split by size."""

    def run() -> None:
        _PROGRAMS[:] = programs
        if processes == 1:
            _parse_some(list(range(len(programs))), collect)
            return
        shares: list[list[int]] = [[] for _ in range(processes)]
        loads = [0] * processes
        for i in sorted(range(len(programs)), key=lambda i: -len(programs[i])):
            least = loads.index(min(loads))
            shares[least].append(i)
            loads[least] += len(programs[i])
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_parse_some, shares, [collect] * processes))

    return run


def has_findings_cache() -> bool:
    """Whether ``kerascheck check`` keeps a findings cache (then ``--no-cache`` turns it off)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "kerascheck", "clean", "--help"], capture_output=True, text=True, check=False
    )
    return help_text.returncode == 0


def check_run(tree: Path, processes: int, no_cache: bool) -> Callable[[], None]:
    args = [sys.executable, "-m", "kerascheck", "check", "--jobs", str(processes), "--exit-zero"]
    args += [*(["--no-cache"] if no_cache else []), str(tree)]
    return lambda: subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
    return wall, cpu


def measure(tree: Path, processes: int, rounds: int, no_cache: bool) -> dict[str, float]:
    programs = kept_programs(tree)
    runs = {
        "check": check_run(tree, processes, no_cache),
        "parse": parse_over(programs, processes, collect=True),
        "parse_gc_off": parse_over(programs, processes, collect=False),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for round_ in range(rounds):
        order = list(runs.items())
        for name, run in order if round_ % 2 == 0 else reversed(order):
            samples[name].append(timed(run))
    row: dict[str, float] = {"kept": len(programs), "chars": sum(map(len, programs))}
    for name, values in samples.items():
        row[f"{name}_s"] = statistics.median(w for w, _ in values)
        row[f"{name}_cpu_s"] = statistics.median(c for _, c in values)
    ratios = [c[0] / p[0] for c, p in zip(samples["check"], samples["parse"])]
    row["ratio"], row["ratio_low"], row["ratio_high"] = statistics.median(ratios), min(ratios), max(ratios)
    row["ratio_gc_off"] = statistics.median(c[0] / p[0] for c, p in zip(samples["check"], samples["parse_gc_off"]))
    row["ratio_cpu"] = statistics.median(c[1] / p[1] for c, p in zip(samples["check"], samples["parse"]))
    return row


# The bare parse's process: it reads the kept programs, then parses them unless told "read".
PARSE_CHILD = """\
import json, sys
import libcst
programs = json.loads(open(sys.argv[1], encoding="utf-8").read())
if sys.argv[2] == "parse":
    for program in programs:
        try:
            libcst.parse_module(program)
        except libcst.ParserSyntaxError:
            pass
"""


def instructions(args: list[str]) -> int:
    """The instructions a process running ``args`` executes (cachegrind's I refs; not its children)."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1).replace(",", ""))


def measure_instructions(tree: Path, no_cache: bool) -> dict[str, float]:
    """The check's instructions and the bare parse's, one process each, and their ratio."""
    programs = kept_programs(tree)
    check = [sys.executable, "-m", "kerascheck", "check", "--jobs", "1", "--exit-zero"]
    check += [*(["--no-cache"] if no_cache else []), str(tree)]
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp, "programs.json")
        listed.write_text(json.dumps(programs), encoding="utf-8")
        child = [sys.executable, "-c", PARSE_CHILD, str(listed)]
        read = instructions([*child, "read"])
        parsed = instructions([*child, "parse"])
        checked = instructions(check)
    parse = parsed - read
    return {"kept": len(programs), "check_ir": checked, "parse_ir": parse, "read_ir": read, "ratio": checked / parse}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the materialized corpus (corpus.py --keep)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", default="1,2", help="process counts, comma-separated")
    parser.add_argument("--cells", type=int, default=150, help="code cells of the generated notebook")
    parser.add_argument("--refused", type=int, default=1, help="of them, cells with a fix that must be refused")
    parser.add_argument("--each", action="store_true", help="also the corpus and the notebook on their own")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind), one process, instead of timing"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # kerascheck's bytecode, as an installed package has it (pip compiles at install): where
    # PYTHONDONTWRITEBYTECODE is set, every check would compile kerascheck's modules again.
    compileall.compile_dir(ROOT / "kerascheck", quiet=1)
    no_cache = has_findings_cache()
    figures: dict[str, object] = {"rounds": args.rounds, "no_cache": no_cache}
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp, "generated")
        generated.mkdir()
        (generated / "models.ipynb").write_text(notebook(args.cells, args.refused), encoding="utf-8")
        offered, checks, builds = offer_checks(generated / "models.ipynb")
        figures["notebook_offers"], figures["notebook_checks"] = offered, checks
        figures["notebook_graph_builds"] = builds
        print(
            f"notebook ({args.cells} cells): {offered} fixes offered after {checks} checks,"
            f" whose graphs ran {builds:.2f} whole builds' worth of statements"
        )
        both = Path(tmp, "both")
        shutil.copytree(args.tree, both / "corpus")
        shutil.copytree(generated, both / "generated")
        trees = {"corpus + notebook": both}
        if args.each:
            trees = {"corpus": args.tree, f"notebook ({args.cells} cells)": generated, **trees}
        if args.instructions:
            print("instructions (cachegrind), one process; check / bare libcst parse of the kept files")
            print(f"{'tree':>24} {'kept':>5} {'check':>9} {'parse':>9} {'ratio':>7}")
            for name, tree in trees.items():
                row = measure_instructions(tree, no_cache)
                figures[f"{name}, instructions"] = row
                print(
                    f"{name:>24} {int(row['kept']):>5} {row['check_ir'] / 1e9:>8.3f}G {row['parse_ir'] / 1e9:>8.3f}G"
                    f" {row['ratio']:>6.3f}x"
                )
        else:
            print(
                f"cores: {os.cpu_count()}, median of {args.rounds} rounds; check / bare libcst parse of the kept files"
            )
            print(
                f"{'tree':>24} {'jobs':>4} {'kept':>5} {'check':>7} {'parse':>7} {'ratio':>6} {'rounds':>11}"
                f" {'gc off':>7} {'cpu':>6}"
            )
            for name, tree in trees.items():
                for processes in (int(n) for n in args.jobs.split(",")):
                    row = measure(tree, processes, args.rounds, no_cache)
                    figures[f"{name}, --jobs {processes}"] = row
                    spread = f"{row['ratio_low']:.2f}-{row['ratio_high']:.2f}"
                    print(
                        f"{name:>24} {processes:>4} {int(row['kept']):>5} {row['check_s']:>6.2f}s"
                        f" {row['parse_s']:>6.2f}s {row['ratio']:>5.2f}x {spread:>11}"
                        f" {row['ratio_gc_off']:>6.2f}x {row['ratio_cpu']:>5.2f}x"
                    )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
