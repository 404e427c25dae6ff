"""kerascheck on a monorepo: cold, warm (the findings cache), and peak memory (issue 15, goal 3 and
"Scale beyond one machine").

Generates, in a temporary folder, a git repository of ``--files`` Python files (default 20,000) of
which ``--keras`` (default 2,000) are Keras model code (Sequential and functional models, LSTM and
GRU stacks, some with a finding); the others are plain Python of the same size. The tree has a
root ``pyproject.toml`` with a ``[tool.kerascheck]`` table and ``--projects`` sub-projects (default 1)
with their own table, holding a quarter of the files between them, as a monorepo has. Then, interleaved and repeated (the machine is shared: medians):

- cold: ``kerascheck clean``, then ``kerascheck check``, which analyses every Keras file and writes
  the cache (one ``.kerascheck_cache`` beside each table);
- warm: ``kerascheck check`` again, over the unchanged tree: every Keras file from the cache;
- one file edited: the warm run after one Keras file changed;
- ``ruff check --no-cache`` (its default rules) over the same tree, cold: the bar a warm run must
  not pass; ``ruff check --no-cache --select ALL`` too.

Peak memory is the largest resident set of each run (its process and the workers it waited for,
``wait4``). Figures are medians, and ratios of medians taken in the same run. ``--against SRC``
(a folder holding another ``kerascheck`` package, e.g. ``git archive`` of an older commit) measures
that one's cold and warm runs too, in the same rounds, for a before and after on the same machine.

    python benchmarks/monorepo_bench.py [--files 20000] [--keras 2000] [--repeat 3] [--jobs N] [--against SRC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERAS_FILES = [
    '''"""Forecaster {n}: a stacked recurrent model."""

import keras
from keras import layers


def build_{n}(steps={steps}, features={features}):
    model = keras.Sequential(
        [
            keras.Input(shape=(steps, features)),
            layers.LSTM({units}, return_sequences=True),
            layers.Dropout(0.2),
            layers.LSTM({half}, return_sequences=True),
            layers.TimeDistributed(layers.Dense({out})),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model
''',
    '''"""Classifier {n}: the functional API."""

import keras
from keras import layers


def build_{n}(vocabulary={vocab}, steps={steps}):
    tokens = keras.Input(shape=(steps,))
    x = layers.Embedding(vocabulary, {units})(tokens)
    x = layers.Bidirectional(layers.GRU({half}, return_sequences=True))(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense({out}, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(tokens, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
''',
    '''"""Encoder {n}: a sequence summarised, then repeated."""

from tensorflow import keras
from tensorflow.keras.layers import GRU, Dense, RepeatVector, TimeDistributed


def build_{n}(steps={steps}, features={features}):
    model = keras.Sequential()
    model.add(GRU({units}, input_shape=(steps, features)))
    model.add(RepeatVector(steps))
    model.add(GRU({half}, return_sequences=True))
    model.add(TimeDistributed(Dense(features)))
    model.compile(optimizer="adam", loss="mse")
    return model
''',
]
HELPERS = '''

def window_{n}_{i}(series, size={size}):
    """Split a series into overlapping windows."""
    out = []
    for start in range(0, len(series) - size):
        out.append(series[start : start + size])
    return out
'''
PLAIN = '''"""Service module {n}."""

import json
import os


class Record{n}:
    def __init__(self, name, size):
        self.name = name
        self.size = size

    def to_json(self):
        return json.dumps({{"name": self.name, "size": self.size}})


def load_{n}(folder):
    with open(os.path.join(folder, "records.json")) as handle:
        return [Record{n}(**item) for item in json.load(handle)]
'''


def generate(root: Path, files: int, keras: int, projects: int) -> None:
    (root / "pyproject.toml").write_text("[tool.kerascheck]\nignore = []\n", encoding="utf-8")
    for p in range(projects):
        project = root / "projects" / f"p{p}"
        project.mkdir(parents=True)
        (project / "pyproject.toml").write_text(f"[tool.kerascheck]\nextend-select = ['KER1']  # {p}\n")
    every = max(1, files // max(1, keras))
    for n in range(files):
        group = n // 100
        # A quarter of the packages in the sub-projects, one after the other; the rest under the root table.
        base = root / "projects" / f"p{(group // 4) % projects}" if projects and group % 4 == 0 else root / "libs"
        folder = base / f"pkg{group}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % every == 0 and n // every < keras:
            template = KERAS_FILES[(n // every) % len(KERAS_FILES)]
            units = 16 * (1 + n % 8)
            text = template.format(
                n=n, steps=10 + n % 50, features=1 + n % 12, units=units, half=units // 2, out=1 + n % 5, vocab=1000 + n
            )
        else:
            text = PLAIN.format(n=n)
        text += "".join(HELPERS.format(n=n, i=i, size=3 + i) for i in range(3))
        (folder / f"mod{n}.py").write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user and system, the workers' included) and peak resident KiB of
    one run (wait4 counts the workers it reaped). On a shared machine the CPU time is the steadier."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped by wait4
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--keras", type=int, default=2_000)
    parser.add_argument("--projects", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="kerascheck --jobs (default: its own choice)")
    parser.add_argument("--against", type=Path, default=None, help="a folder with another kerascheck package")
    args = parser.parse_args()
    python = sys.executable
    ruff = shutil.which("ruff", path=os.path.dirname(python)) or shutil.which("ruff")
    with tempfile.TemporaryDirectory(prefix="kerascheck-monorepo-") as folder:
        tree = Path(folder) / "repo"
        tree.mkdir()
        generate(tree, args.files, args.keras, args.projects)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KERASCHECK_NO_CACHE")}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")  # bytecode kept, as installed
        jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
        check = [python, "-m", "kerascheck", "check", "--exit-zero", "-q", *jobs, "."]
        clean = [python, "-m", "kerascheck", "clean"]
        edited = next(tree.rglob("mod0.py"))
        commands = {"ruff check --no-cache": [ruff, "check", "--no-cache", "--exit-zero", "-q", "."]} if ruff else {}
        if ruff:
            commands["ruff check --no-cache --select ALL"] = [*commands["ruff check --no-cache"], "--select", "ALL"]
        against = None
        if args.against is not None:
            against = {**env, "PYTHONPATH": os.pathsep.join([str(args.against.resolve()), env.get("PYTHONPATH", "")])}
        others = ("cold (against)", "warm (against)") if against else ()
        runs: dict[str, list[tuple[float, float, int]]] = {
            name: [] for name in ("cold", "warm", "one file edited", *others, *commands)
        }
        one = [*check[:-1], "--no-cache", str(next(tree.rglob("mod0.py")))]
        subprocess.run(one, cwd=tree, env=env, capture_output=True)  # bytecode compiled, git's index warm
        for round_ in range(args.repeat):
            subprocess.run(clean, cwd=tree, env=env, capture_output=True, check=True)
            runs["cold"].append(measure(check, tree, env))
            runs["warm"].append(measure(check, tree, env))
            with edited.open("a", encoding="utf-8") as handle:
                handle.write(f"# edit {round_}\n")
            runs["one file edited"].append(measure(check, tree, env))
            if against is not None:
                subprocess.run(clean, cwd=tree, env=env, capture_output=True, check=True)
                runs["cold (against)"].append(measure(check, tree, against))
                runs["warm (against)"].append(measure(check, tree, against))
            for name, command in commands.items():
                runs[name].append(measure(command, tree, env))
        caches = sorted(p.relative_to(tree).as_posix() for p in tree.rglob(".kerascheck_cache"))
        entries = [p for p in tree.rglob(".kerascheck_cache/findings/*/*.json")]
        size = sum(p.stat().st_size for p in entries)
    wall = {name: statistics.median(t for t, _, _ in values) for name, values in runs.items()}
    cpu = {name: statistics.median(c for _, c, _ in values) for name, values in runs.items()}
    memory = {name: max(m for _, _, m in values) for name, values in runs.items()}
    print(
        f"{args.files} files, {args.keras} of them Keras, {args.projects} sub-projects; {args.repeat} rounds, medians:"
    )
    print(f"  {'':36} {'wall':>8}   {'CPU':>8}   {'peak RSS':>10}")
    for name in runs:
        print(f"  {name:36} {wall[name]:7.2f}s   {cpu[name]:7.2f}s   {memory[name] / 1024:6.1f} MiB")
    for label, figures in (("wall", wall), ("CPU", cpu)):
        ratios = f"warm / cold {figures['warm'] / figures['cold']:.3f} (goal: at most 0.10)"
        if ruff:
            ratios += f", warm / ruff cold {figures['warm'] / figures['ruff check --no-cache']:.2f} (goal: at most 1)"
        if against:
            ratios += f"; against: warm / cold {figures['warm (against)'] / figures['cold (against)']:.3f}"
        print(f"{label}: {ratios}")
    print(f"caches: {', '.join(caches)}; {len(entries)} entries, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
