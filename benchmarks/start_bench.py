"""What kerascheck costs where it finds nothing to parse (issue 15, goal 2).

Generates, in a temporary folder, a tree of plain Python files without Keras (a git repository, as
most trees are), then times, interleaved and repeated (the machine is shared: medians, never one
run), each of:

- ``python -c pass``: the interpreter starting, the floor;
- ``python -m kerascheck check TREE``: discovery, reading, the prefilter, the report;
- ``flake8 TREE`` with the kerascheck plugin, and the same run with the plugin left out (flake8's
  plugin finder told to skip it), so that the ratio is what the plugin adds to flake8.

The figures are ratios taken in the same run. Also printed: whether libcst was imported by the
``check`` run (it must not be: the analysis is imported only for a file the prefilter passes).
``--before DIR`` adds, in the same rounds, ``kerascheck check`` of the kerascheck package in DIR
(put first on PYTHONPATH): the start before a change beside the start after it.

    python benchmarks/start_bench.py [--files 200] [--repeat 15] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = '''"""Module {n}: nothing here mentions the deep-learning library."""

import os
import json


def load_{n}(path):
    with open(path) as handle:
        return json.load(handle)


class Thing{n}:
    def __init__(self, size):
        self.size = size

    def grow(self, by=1):
        self.size += by
        return os.path.join("a", str(self.size))
'''

WITHOUT_PLUGIN = (
    "import sys, flake8.plugins.finder as f; f.BANNED_PLUGINS['kerascheck'] = '0'; "
    "from flake8.main.cli import main; sys.exit(main())"
)
WITH_PLUGIN = "import sys; from flake8.main.cli import main; sys.exit(main())"


def make_tree(root: Path, files: int) -> None:
    for n in range(files):
        folder = root / f"pkg{n % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{n}.py").write_text(PLAIN.format(n=n), encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)


def seconds(command: list[str], cwd: Path, env: dict[str, str], code: str | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user and system, with the processes it waited for, such as
    git) of one run. On a machine shared with other work, the CPU time is the steadier figure."""
    if code is not None:
        env = dict(env, PYTHONPATH=code)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped by wait4
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def bytecode_env(folder: Path) -> dict[str, str]:
    """The environment with compiled bytecode kept, as an installed package has it (in ``folder``,
    not beside the sources): PYTHONDONTWRITEBYTECODE would time compiling every module instead."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--before", help="a folder holding another kerascheck package: its check too")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="kerascheck-start-") as folder:
        tree = Path(folder) / "tree"
        tree.mkdir()
        make_tree(tree, args.files)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "kerascheck check": [python, "-m", "kerascheck", "check", "--no-cache", "."],
            **(
                {"kerascheck check (before)": [python, "-m", "kerascheck", "check", "--no-cache", "."]}
                if args.before
                else {}
            ),
            "flake8 (no plugin)": [python, "-c", WITHOUT_PLUGIN, "."],
            "flake8 (with kerascheck)": [python, "-c", WITH_PLUGIN, "."],
        }
        env = bytecode_env(Path(folder) / "pycache")
        code = {"kerascheck check (before)": args.before}
        for name, command in commands.items():  # once to compile the bytecode
            seconds(command, tree, env, code.get(name))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():  # interleaved: load changes hit every command alike
                times[name].append(seconds(command, tree, env, code.get(name)))
        probe = (
            "import sys; from kerascheck.cli import main; main(['check', '--no-cache', '-q', '.']); "
            "print('libcst' in sys.modules)"
        )
        done = subprocess.run([python, "-c", probe], cwd=tree, env=env, capture_output=True, text=True)
        loaded = done.stdout.strip()
    print(f"{args.files} files without Keras, {args.repeat} interleaved runs each, medians (wall, CPU):")
    for kind, index in (("wall", 0), ("CPU", 1)):
        median = {name: statistics.median(v[index] for v in values) for name, values in times.items()}
        floor = median["python -c pass"]
        for name, value in median.items():
            print(f"  {kind:4} {name:28} {value * 1000:7.1f} ms  {value / floor:5.2f}x python -c pass")
        plugin = median["flake8 (with kerascheck)"] / median["flake8 (no plugin)"]
        print(f"  {kind}: kerascheck check / python -c pass {median['kerascheck check'] / floor:.2f}x (goal: 3x)")
        if args.before:
            print(f"  {kind}: before / python -c pass {median['kerascheck check (before)'] / floor:.2f}x")
        print(f"  {kind}: flake8 with the plugin / without {plugin:.3f}x (goal: 1.05x)")
    print(f"libcst imported by the check run: {loaded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
