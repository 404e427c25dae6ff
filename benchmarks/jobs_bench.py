"""How many processes ``kerascheck check`` should use: the default beside --jobs 1 and --jobs 2,
on projects of several sizes, as ratios against --jobs 1 measured in the same run (turn by turn,
so whatever else the machine does weighs on each alike; medians of the rounds, wall clock and
CPU time, the processes the run waited for included).

Projects: copies of the fixtures that can hold a finding, 5, 21 and 100 of them; the 21 with
each file repeated to about 200,000 characters in all (``runner.WORK_PER_PROCESS``: where the
default starts a second process); three large files of about 100,000, 300,000 and 1,000,000
characters (``--huge``: the largest); and one file of 1,000,000 characters among 40 small ones.
The largest file is named last, as it may be: a pool that hands files out in their order gives it
to the first process free, after the others.

``--before DIR`` adds, in the same rounds, the default of the kerascheck in DIR (a checkout's
folder holding the ``kerascheck`` package, put first on PYTHONPATH): the default before a change
beside the default after it.

Usage: python benchmarks/jobs_bench.py [--repeat N] [--only NAME] [--huge CHARS] [--before DIR]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kerascheck.runner import WORK_PER_PROCESS  # noqa: E402
from kerascheck.sources import may_have_findings  # noqa: E402


def candidates() -> list[Path]:
    return [p for p in sorted((ROOT / "fixtures").glob("*.py")) if may_have_findings(p.read_text(encoding="utf-8"))]


def project(folder: Path, count: int, scale: int = 1) -> Path:
    files = candidates()
    folder.mkdir()
    for i in range(count):
        source = files[i % len(files)].read_text(encoding="utf-8")
        (folder / f"m{i:03}.py").write_text(_repeat(source, scale) if scale > 1 else source, encoding="utf-8")
    return folder


def sized(folder: Path, sizes: list[int], small: int = 0) -> Path:
    """``small`` fixtures, then one file of about each of ``sizes`` characters (named after them)."""
    files = candidates()
    project(folder, small)
    for n, size in enumerate(sizes):
        parts, length, i = [], 0, 0
        while length < size:  # whole fixtures, each inside a function, until the size is reached
            text = _repeat(files[i % len(files)].read_text(encoding="utf-8"), 1, start=i)
            parts.append(text)
            length += len(text)
            i += 1
        (folder / f"z{n}_{size // 1000}k.py").write_text("".join(parts), encoding="utf-8")
    return folder


def _repeat(source: str, scale: int, start: int = 0) -> str:
    """``source`` repeated inside functions, so the file stays valid Python and each copy counts."""
    body = "".join("    " + line + "\n" if line.strip() else "\n" for line in source.splitlines())
    return "".join(f"def part_{i}():\n{body}\n" for i in range(start, start + scale))


def timed(args: list[str], code: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU: user and system, its worker processes included), of
    the kerascheck in folder ``code`` when given."""
    command = [sys.executable, "-m", "kerascheck", "check", "--exit-zero", "--no-cache", *args]
    env = dict(os.environ, PYTHONPATH=code) if code else None
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", action="append", help="only the projects whose name starts with this")
    parser.add_argument("--huge", type=int, default=1_000_000, help="characters of the largest file")
    parser.add_argument("--before", help="a folder holding another kerascheck package: its default too")
    options = parser.parse_args()
    huge = options.huge
    load = os.getloadavg()[0]
    print(f"cores: {os.cpu_count()}, WORK_PER_PROCESS: {WORK_PER_PROCESS:,} characters, medians of {options.repeat}")
    print(f"load average at the start: {load:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        average = sum(len(p.read_text(encoding="utf-8")) for p in candidates()) / len(candidates())
        scale = max(1, int(WORK_PER_PROCESS / 21 / average) + 1)
        makers = {
            "5 files": lambda: project(Path(tmp, "p5"), 5),
            "21 files": lambda: project(Path(tmp, "p21"), 21),
            "100 files": lambda: project(Path(tmp, "p100"), 100),
            f"21 files x{scale}": lambda: project(Path(tmp, "big"), 21, scale),
            "3 large files": lambda: sized(Path(tmp, "large"), [100_000, 300_000, huge]),
            "1 huge + 40 small": lambda: sized(Path(tmp, "huge"), [huge], small=40),
        }
        wanted = {n: make for n, make in makers.items() if not options.only or n.startswith(tuple(options.only))}
        kinds = [("--jobs 1", ["--jobs", "1"], None), ("--jobs 2", ["--jobs", "2"], None), ("default", [], None)]
        if options.before:
            kinds.append(("default before", [], options.before))
        print(f"{'project':>18} {'chars':>10} {'files':>5}" + "".join(f" {name:>22}" for name, _, _ in kinds))
        print(f"{'':>35}" + "".join(f" {'wall':>7} {'CPU':>7} {'ratio':>6}" for _ in kinds))
        for name, make in wanted.items():
            folder = make()
            sizes = [len(p.read_text(encoding="utf-8")) for p in folder.glob("*.py")]
            runs: dict[str, list[tuple[float, float]]] = {kind: [] for kind, _, _ in kinds}
            for _ in range(options.repeat):
                for kind, extra, code in kinds:  # in turn: whatever else the machine does weighs on each
                    runs[kind].append(timed([*extra, str(folder)], code))
            wall = {kind: statistics.median(w for w, _ in values) for kind, values in runs.items()}
            cpu = {kind: statistics.median(c for _, c in values) for kind, values in runs.items()}
            one = wall["--jobs 1"]
            cells = "".join(f" {wall[k]:>6.2f}s {cpu[k]:>6.2f}s {wall[k] / one:>5.2f}x" for k, _, _ in kinds)
            print(f"{name:>18} {sum(sizes):>10,} {len(sizes):>5}{cells}", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
