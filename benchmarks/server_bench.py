"""The language server's latency: from ``didChange`` to ``publishDiagnostics``, against the analysis alone.

For each fixture that can hold a finding and a generated 500-line model file (lint_bench's
``model_file``), a ``kerascheck server`` started over stdio is sent the whole text again as a new
version, and the time until its diagnostics for that version arrive is taken. In the same run,
in turn with each change, ``kerascheck.check_source`` analyses the same text in this process. The
difference is what the server adds: JSON-RPC both ways, the configuration lookup, the thread hop
and the conversion to LSP. Each change is sent once the last one's diagnostics are in, so none
is held back by the debounce (``DEBOUNCE`` in kerascheck/server/protocol.py), which only delays a
change that follows another within that time. Medians over the rounds; the goal is within 50 ms
over the analysis.

Usage: python benchmarks/server_bench.py [--rounds N] [--lines N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from benchmarks.lint_bench import machine, model_file  # noqa: E402
from kerascheck.check import check_source  # noqa: E402
from kerascheck.server.protocol import DEBOUNCE  # noqa: E402
from kerascheck.sources import may_have_findings  # noqa: E402

GOAL_MS = 50.0


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("kerascheck-bench", "1")
        self.waiting: dict[tuple[str, int], asyncio.Future[float]] = {}
        self.counts: dict[tuple[str, int], int] = {}


def _received(client: Client, params: types.PublishDiagnosticsParams) -> None:
    key = (params.uri, params.version if params.version is not None else -1)
    client.counts[key] = len(params.diagnostics)
    future = client.waiting.get(key)
    if future is not None and not future.done():
        future.set_result(time.perf_counter())


async def _send(client: Client, uri: str, version: int, text: str) -> float:
    """Seconds from sending version ``version`` of the text to its diagnostics."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    client.waiting[(uri, version)] = future
    start = time.perf_counter()
    if version == 1:
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text))
        )
    else:
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    return await asyncio.wait_for(future, 60) - start


def _analysis(text: str, name: str) -> float:
    start = time.perf_counter()
    check_source(text, name)
    return time.perf_counter() - start


async def measure(texts: dict[str, str], rounds: int, folder: Path) -> dict[str, dict[str, Any]]:
    client = Client()
    client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(_received)
    await client.start_io(sys.executable, "-m", "kerascheck", "server")
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=folder.as_uri())
    )
    client.initialized(types.InitializedParams())
    rows: dict[str, dict[str, Any]] = {}
    try:
        for name, text in texts.items():
            uri = (folder / name).as_uri()
            await _send(client, uri, 1, text)  # open: configuration fetched, first analysis
            server, analysis = [], []
            for version in range(2, rounds + 2):
                analysis.append(_analysis(text, name))
                server.append(await _send(client, uri, version, text))
            client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
            rows[name] = {
                "lines": len(text.splitlines()),
                "findings": client.counts[(uri, rounds + 1)],
                "analysis_ms": statistics.median(analysis) * 1000,
                "server_ms": statistics.median(server) * 1000,
            }
            rows[name]["over_ms"] = rows[name]["server_ms"] - rows[name]["analysis_ms"]
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()  # type: ignore[no-untyped-call]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="changes per file (default: 15)")
    parser.add_argument("--lines", type=int, default=500, help="lines of the generated model file (default: 500)")
    parser.add_argument("--json", type=Path, help="write the figures to FILE as well")
    args = parser.parse_args()

    texts = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "fixtures").glob("*.py"))
        if may_have_findings(path.read_text(encoding="utf-8"))
    }
    texts[f"generated_{args.lines}_lines.py"] = model_file(args.lines)
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(measure(texts, args.rounds, Path(folder)))

    width = max(len(name) for name in rows)
    print(f"{'file':{width}}  lines  findings  analysis ms  server ms  over ms")
    for name, row in rows.items():
        print(
            f"{name:{width}}  {row['lines']:5}  {row['findings']:8}  {row['analysis_ms']:11.1f}  "
            f"{row['server_ms']:9.1f}  {row['over_ms']:7.1f}"
        )
    over = [row["over_ms"] for row in rows.values()]
    generated = rows[f"generated_{args.lines}_lines.py"]
    summary = {
        "machine": machine(),
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "debounce_ms": DEBOUNCE * 1000,
        "files": len(rows),
        "over_median_ms": statistics.median(over),
        "over_worst_ms": max(over),
        "generated": generated,
        "goal_ms": GOAL_MS,
    }
    print(
        f"\n{len(rows)} files, medians of {args.rounds} changes each; the server adds {summary['over_median_ms']:.1f} ms "
        f"(median over files), {summary['over_worst_ms']:.1f} ms at worst, to the analysis "
        f"(a change within {DEBOUNCE * 1000:.0f} ms of another waits that much more). Goal: within {GOAL_MS:.0f} ms."
    )
    print(
        f"The {generated['lines']}-line file: analysis {generated['analysis_ms']:.1f} ms, "
        f"didChange to publishDiagnostics {generated['server_ms']:.1f} ms (+{generated['over_ms']:.1f} ms)."
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"summary": summary, "files": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
