"""How long ``--verify`` takes, against the goals of issue 3, in one run.

Measures, on the fixtures (or the folders given):

- ``python -c "import keras"`` alone (the floor of any cold run: the worker imports Keras once);
- ``kerascheck check`` without ``--verify`` (linting, for reference);
- ``kerascheck check --verify`` cold (an empty cache) and warm (the same run again: cache hits).

Goals: cold <= import + 0.2 s per distinct model; warm <= 10% of cold.

    python benchmarks/verify_bench.py [PATH ...] [--repeat N] [--keras tf_keras]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "fixtures")])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the median is kept (default: 3)")
    parser.add_argument("--keras", choices=["keras", "tf_keras"], default="keras")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("KERAS_BACKEND", "tensorflow")
    python = sys.executable
    check = [python, "-m", "kerascheck", "check", "--exit-zero", *args.paths]
    verify = [*check, "--verify", "--keras", args.keras, "--format", "json"]
    module = "tf_keras" if args.keras == "tf_keras" else "keras"

    imports, lints, colds, warms = [], [], [], []
    summary = ""
    findings: list[dict] = []
    for _ in range(args.repeat):
        seconds, done = timed([python, "-c", f"import {module}"], env)
        if done.returncode != 0:
            print(f"cannot import {module}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 2
        imports.append(seconds)
        lints.append(timed(check, env)[0])
        with tempfile.TemporaryDirectory(prefix="kerascheck-bench-") as cache:
            run_env = {**env, "KERASCHECK_CACHE_DIR": cache}
            seconds, done = timed(verify, run_env)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 2
            colds.append(seconds)
            summary = next((line for line in done.stderr.splitlines() if line.startswith("Verified with")), "")
            findings = json.loads(done.stdout)
            seconds, done = timed(verify, run_env)
            warms.append(seconds)
            warm_summary = next((line for line in done.stderr.splitlines() if line.startswith("Verified with")), "")

    match = re.search(r"; (\d+) models? \((\d+) from the cache\)", summary)
    models = int(match.group(1)) if match else 0
    warm_match = re.search(r"\((\d+) from the cache\)", warm_summary)
    statuses: dict[str, int] = {}
    for finding in findings:
        status = (finding.get("verification") or {}).get("status", "none")
        statuses[status] = statuses.get(status, 0) + 1

    # The same, in this process and phase by phase: linting with plans, then verification alone.
    sys.path.insert(0, str(ROOT))
    from kerascheck.discovery import discover
    from kerascheck.runner import check_files
    from kerascheck.verify.session import VerifyOptions, verify_results

    targets, _ = discover(args.paths)
    start = time.perf_counter()
    results = check_files(targets, verify=True)
    planning = time.perf_counter() - start
    phases = []
    with tempfile.TemporaryDirectory(prefix="kerascheck-bench-") as cache:
        os.environ["KERASCHECK_CACHE_DIR"] = cache
        for _ in range(2):
            fresh = [type(r)(r.path, list(r.findings)) for r in results]
            start = time.perf_counter()
            stats = verify_results(fresh, VerifyOptions(keras=args.keras, progress=False))
            phases.append((time.perf_counter() - start, stats))

    imp, lint, cold, warm = (statistics.median(v) for v in (imports, lints, colds, warms))
    goal_cold = imp + 0.2 * models
    verify_only = max(cold - lint - imp, 0.0)
    print(
        f"paths: {' '.join(args.paths)}   ({len(findings)} findings, {models} distinct models, median of {args.repeat})"
    )
    print(f"  {summary}")
    print(f"  statuses: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}")
    print(f"python -c 'import {module}'        {imp:7.2f} s")
    print(f"check (lint only)                 {lint:7.2f} s")
    print(
        f"check --verify, cold              {cold:7.2f} s   goal <= import + 0.2 s x {models} = {goal_cold:.2f} s"
        f"   -> {cold / goal_cold:.2f} of the goal ({'met' if cold <= goal_cold else 'MISSED'})"
    )
    print(
        f"check --verify, warm              {warm:7.2f} s   goal <= 10% of cold = {0.1 * cold:.2f} s"
        f"   -> {warm / cold:.1%} of cold ({'met' if warm <= 0.1 * cold else 'MISSED'});"
        f" {warm_match.group(1) if warm_match else '?'} of {models} models from the cache"
    )
    if models:
        print(
            f"per model, cold                   {verify_only / models * 1000:7.1f} ms   (cold - lint - import) / models"
        )
    (vcold, cstats), (vwarm, wstats) = phases
    print("phase by phase, in one process:")
    print(f"  lint with plans                 {planning:7.2f} s")
    print(
        f"  verification, cold              {vcold:7.2f} s   ({cstats.built} models built; worker {cstats.worker_seconds:.2f} s"
        f" including the import; goal <= {imp + 0.2 * cstats.models:.2f} s -> {vcold / (imp + 0.2 * cstats.models):.2f})"
    )
    print(
        f"  verification, warm              {vwarm:7.2f} s   ({wstats.cached} from the cache; {vwarm / vcold:.1%} of cold)"
    )
    if cstats.built:
        print(
            f"  per model, cold                 {(cstats.worker_seconds - imp) / cstats.built * 1000:7.1f} ms"
            f"   (worker time - import) / models"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
