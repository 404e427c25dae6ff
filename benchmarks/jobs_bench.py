"""How many processes ``kerascheck check`` should use: the default beside --jobs 1 and --jobs 2,
on projects of several sizes, as ratios against --jobs 1 measured in the same run (turn by turn,
best of N, so whatever else the machine does weighs on each alike).

Projects: copies of the fixtures that can hold a finding, 5, 21 and 100 of them, and the 21 with
each file repeated to about 200,000 characters (``runner.WORK_PER_PROCESS``: where the default
starts a second process).

Usage: python benchmarks/jobs_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def _repeat(source: str, scale: int) -> str:
    """``source`` repeated inside functions, so the file stays valid Python and each copy counts."""
    body = "".join("    " + line + "\n" if line.strip() else "\n" for line in source.splitlines())
    return "".join(f"def part_{i}():\n{body}\n" for i in range(scale))


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kerascheck", "check", "--exit-zero", *args], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"cores: {os.cpu_count()}, WORK_PER_PROCESS: {WORK_PER_PROCESS:,} characters, best of {options.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        average = sum(len(p.read_text(encoding="utf-8")) for p in candidates()) / len(candidates())
        scale = max(1, int(WORK_PER_PROCESS / 21 / average) + 1)
        projects = {
            "5 files": project(Path(tmp, "p5"), 5),
            "21 files": project(Path(tmp, "p21"), 21),
            "100 files": project(Path(tmp, "p100"), 100),
            f"21 files x{scale}": project(Path(tmp, "big"), 21, scale),
        }
        print(f"{'project':>16} {'chars':>10} {'--jobs 1':>9} {'--jobs 2':>16} {'default':>16}")
        for name, folder in projects.items():
            size = sum(len(p.read_text(encoding="utf-8")) for p in folder.glob("*.py"))
            best: dict[str, float] = {}
            for _ in range(options.repeat):
                for label, extra in (("1", ["--jobs", "1"]), ("2", ["--jobs", "2"]), ("default", [])):
                    took = timed([*extra, str(folder)])
                    best[label] = min(best.get(label, took), took)
            one = best["1"]
            print(
                f"{name:>16} {size:>10,} {one:>8.2f}s {best['2']:>7.2f}s {best['2'] / one:>5.2f}x"
                f" {best['default']:>7.2f}s {best['default'] / one:>5.2f}x"
            )
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
