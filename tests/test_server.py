"""``kerascheck server`` end to end: a real LSP client (pytest-lsp) drives the server over stdio.

One server for the module (it starts in about a second); each test opens its own documents. The
expected ranges are worked out here from the text itself (UTF-16 code units, as LSP counts them),
not asked of kerascheck. The server's verification worker is the session's Keras worker, which the
server reaches through a worker process of the tests' (``verify-python``, tests/keras_pipe.py):
the server starts it, waits for its hello and sends it jobs over its pipes as it would a worker of
its own, which would import Keras again (5 to 10 s of CPU).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from tests.keras_pipe import KerasPipe

pytestmark = pytest.mark.asyncio(loop_scope="module")

WORKSPACE = Path(tempfile.gettempdir()) / f"kerascheck-server-test-{os.getpid()}"  # made by the fixture
CACHE = WORKSPACE / "cache"  # a cache of our own: the verify test runs Keras, not a cached answer
SERVER = [sys.executable, "-m", "kerascheck", "server"]
ENV = {k: v for k, v in os.environ.items() if k != "KERASCHECK_NO_CACHE"}  # explain reads the cache below
ENV["KERASCHECK_CACHE_DIR"] = str(CACHE)
WAIT = 60.0  # seconds to wait for a notification before the test fails (never reached when it works)

SEED = """\
import keras
from keras import layers

inputs = keras.Input(shape=(64, 15))
x = layers.GRU(16, return_sequences=True)(inputs)
label = "héllo 😀"; x = layers.TimeDistributed(layers.Dense(15))(x)
model = keras.Model(inputs, x)
"""
WRAPPER = "layers.TimeDistributed(layers.Dense(15))"


class Client(LanguageClient):
    """pytest-lsp's client, keeping every publishDiagnostics in order (it keeps the last one only)."""

    published: list[types.PublishDiagnosticsParams]
    lens_refreshes: int


def _record(client: Client, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)


def _lens_refresh(client: Client, params: None) -> None:
    client.lens_refreshes += 1


def make_client() -> Client:
    client = Client(converter_factory=default_converter)
    client.published, client.lens_refreshes = [], 0
    features = {
        **DEFAULT_CLIENT_FEATURES,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record,
        types.WORKSPACE_CODE_LENS_REFRESH: _lens_refresh,
    }
    register_lsp_features(client, features)
    return client


def capabilities() -> types.ClientCapabilities:
    """VS Code's (1.65, as pytest-lsp has them), with LSP 3.17's notebook sync added."""
    caps = client_capabilities("visual-studio-code")
    assert caps.workspace is not None and caps.workspace.configuration
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    return caps


@pytest.fixture(scope="module")
def keras_pipe(keras_worker: Any) -> Iterator[KerasPipe]:
    """The session's Keras worker, for the server's verification worker (the workspace's
    pyproject.toml names ``KerasPipe.python`` its ``verify-python``)."""
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    pipe = KerasPipe(WORKSPACE, keras_worker)
    yield pipe
    pipe.close()


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(SERVER, client_factory=make_client, server_env=ENV))  # type: ignore[untyped-decorator]
async def client(lsp_client: Client, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if importlib.util.find_spec("keras") is not None:  # without it, the tests that verify say so
        pipe: KerasPipe = request.getfixturevalue("keras_pipe")
        (WORKSPACE / "pyproject.toml").write_text(f"[tool.kerascheck]\nverify-python = {str(pipe.python)!r}\n")
    (WORKSPACE / "configured").mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "configured" / "pyproject.toml").write_text(
        '[tool.kerascheck]\nignore = ["KER101"]\nexclude = ["skipped_*.py"]\n'
    )
    (WORKSPACE / "misconfigured").mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "misconfigured" / "pyproject.toml").write_text('[tool.kerascheck]\nselct = ["KER101"]\n')
    lsp_client.set_configuration({"ignore": ["KER103"]}, section="kerascheck", scope_uri=uri("by-client") + "/")
    lsp_client.initialization_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=capabilities(),
            root_uri=WORKSPACE.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="workspace")],
        )
    )
    yield
    await lsp_client.shutdown_session()
    shutil.rmtree(WORKSPACE, ignore_errors=True)


# ---------------------------------------------------------------- helpers


def uri(name: str) -> str:
    return (WORKSPACE / name).as_uri()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def place(text: str, needle: str) -> types.Range:
    """The range of ``needle``'s first occurrence in ``text``, in LSP's terms, found by hand."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset)
    start_of_line = text.rfind("\n", 0, offset) + 1
    assert "\n" not in needle
    start = utf16(text[start_of_line:offset])
    return types.Range(types.Position(line, start), types.Position(line, start + utf16(needle)))


def offset_of(text: str, position: types.Position) -> int:
    """A character offset from an LSP position (UTF-16 columns), counted independently of the server."""
    lines = text.split("\n")
    offset = sum(len(line) + 1 for line in lines[: position.line])
    units = 0
    for char in lines[position.line] if position.line < len(lines) else "":
        if units >= position.character:
            break
        units += utf16(char)
        offset += 1
    return offset


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    spans = sorted(
        ((offset_of(text, e.range.start), offset_of(text, e.range.end), e.new_text) for e in edits), reverse=True
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


async def published(client: Client, target: str, after: int, version: int | None = None) -> list[types.Diagnostic]:
    """The diagnostics of the first publish for ``target`` among those after the first ``after``
    (and of ``version``, when given)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for params in client.published[after:]:
            if params.uri == target and (version is None or params.version == version):
                return list(params.diagnostics)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {target} (version {version}) within {WAIT} s")


async def open_document(client: Client, name: str, text: str, version: int = 1) -> list[types.Diagnostic]:
    before = len(client.published)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri(name), "python", version, text))
    )
    return await published(client, uri(name), before, version)


async def replace_all(client: Client, name: str, text: str, version: int) -> list[types.Diagnostic]:
    before = len(client.published)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri(name)),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await published(client, uri(name), before, version)


async def actions_at(
    client: Client, target: str, where: types.Range, only: list[str] | None = None
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(target),
            range=where,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def edits_of(action: types.CodeAction, target: str) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.changes is not None
    assert set(action.edit.changes) == {target}
    return list(action.edit.changes[target])


def only(items: list[Any], test: Callable[[Any], bool]) -> Any:
    chosen = [item for item in items if test(item)]
    assert len(chosen) == 1, chosen
    return chosen[0]


# ---------------------------------------------------------------- the tests


async def test_initialize_announces_what_the_server_does(client: Client) -> None:
    result: types.InitializeResult = client.initialization_result  # type: ignore[attr-defined]
    caps = result.capabilities
    assert result.server_info is not None and result.server_info.name == "kerascheck"
    assert caps.hover_provider and caps.code_lens_provider is not None
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert set(caps.code_action_provider.code_action_kinds or []) == {"quickfix", "source.fixAll.kerascheck"}
    assert caps.execute_command_provider is not None
    assert list(caps.execute_command_provider.commands) == ["kerascheck.verify"]
    assert caps.notebook_document_sync is not None
    assert isinstance(caps.text_document_sync, types.TextDocumentSyncOptions)
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.text_document_sync.save


async def test_open_reports_ker101_at_its_range_in_utf16(client: Client) -> None:
    diagnostics = await open_document(client, "seed.py", SEED)
    finding = only(diagnostics, lambda d: True)
    assert finding.code == "KER101"
    assert finding.source == "kerascheck"
    assert finding.severity == types.DiagnosticSeverity.Warning
    assert finding.code_description is None  # no page to point at (see convert.py)
    assert "(None, 64, 16)" in finding.message and "(None, 64, 15)" in finding.message
    expected = place(SEED, WRAPPER)
    # The line has an é (1 unit) and an emoji (2 units) before the finding: 3 units more than bytes/chars would differ.
    assert expected.start.character == len('label = "héllo 😀"; x = ') + 1
    assert finding.range == expected


async def test_change_updates_the_diagnostics(client: Client) -> None:
    await open_document(client, "change.py", SEED)
    before = len(client.published)
    # An incremental change: return_sequences=True becomes False, so the wrapper now gets a vector.
    where = place(SEED, "True")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri("change.py")),
            [types.TextDocumentContentChangePartial(range=where, text="False")],
        )
    )
    diagnostics = await published(client, uri("change.py"), before, 2)
    assert [d.code for d in diagnostics] == ["KER102"]
    assert diagnostics[0].range == place(SEED.replace("True", "False"), WRAPPER)
    # Several changes in a row: the analysis runs on the last text, whatever it published on the way.
    for version, text in ((3, SEED.replace("True", "False") + "\n"), (4, SEED)):
        before = len(client.published)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri("change.py")),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    assert [d.code for d in await published(client, uri("change.py"), before, 4)] == ["KER101"]


async def test_quick_fix_edits_only_what_changes(client: Client) -> None:
    await open_document(client, "quickfix.py", SEED)
    found = await actions_at(client, uri("quickfix.py"), place(SEED, WRAPPER), only=["quickfix"])
    fix = only(found, lambda a: a.title.startswith("Replace the TimeDistributed"))
    assert fix.title == "Replace the TimeDistributed wrapper with Dense(15) (unsafe fix)"
    assert fix.kind == types.CodeActionKind.QuickFix and not fix.is_preferred  # KER101's fix is unsafe
    assert [d.code for d in fix.diagnostics or []] == ["KER101"]
    edits = edits_of(fix, uri("quickfix.py"))
    line = place(SEED, WRAPPER).start.line
    assert all(e.range.start.line == e.range.end.line == line for e in edits)  # not the whole document
    fixed = apply_edits(SEED, edits)
    assert fixed == SEED.replace(WRAPPER, "layers.Dense(15)")
    assert await replace_all(client, "quickfix.py", fixed, 2) == []


SAFE = """\
import keras
from keras import layers

inputs = keras.Input(shape=(64, 15))
x = layers.GRU(16)(inputs)
x = layers.LSTM(8)(x)
model = keras.Model(inputs, x)

other = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(4), layers.GRU(2)])
"""


async def test_fix_all_applies_every_safe_fix(client: Client) -> None:
    diagnostics = await open_document(client, "fixall.py", SAFE)
    assert [d.code for d in diagnostics] == ["KER103", "KER103"]
    found = await actions_at(
        client, uri("fixall.py"), types.Range(types.Position(0, 0), types.Position(0, 0)), ["source.fixAll"]
    )
    action = only(found, lambda a: True)
    assert action.title == "Fix all safe kerascheck findings" and action.kind == "source.fixAll.kerascheck"
    edits = edits_of(action, uri("fixall.py"))
    assert len(edits) == 2 and all(e.range.start.line == e.range.end.line for e in edits)
    expected = SAFE.replace("layers.GRU(16)", "layers.GRU(16, return_sequences=True)").replace(
        "layers.LSTM(4)", "layers.LSTM(4, return_sequences=True)"
    )
    assert apply_edits(SAFE, edits) == expected
    # The safe fixes are also each finding's preferred quick fix.
    quick = await actions_at(client, uri("fixall.py"), place(SAFE, "layers.LSTM(8)"), ["quickfix"])
    preferred = only(quick, lambda a: a.is_preferred)
    assert preferred.title == "Set return_sequences=True on GRU(16) on line 5"


async def test_noqa_action_silences_the_finding(client: Client) -> None:
    text = SEED.replace("(layers.Dense(15))(x)", "(layers.Dense(15))(x)  # noqa: KER102")
    await open_document(client, "noqa.py", text)
    found = await actions_at(client, uri("noqa.py"), place(text, WRAPPER))
    action = only(found, lambda a: a.title == "Silence KER101 on this line")
    silenced = apply_edits(text, edits_of(action, uri("noqa.py")))
    assert silenced == text.replace("# noqa: KER102", "# noqa: KER102,KER101")
    assert await replace_all(client, "noqa.py", silenced, 2) == []
    # Without a comment on the line, one is added.
    await open_document(client, "noqa2.py", SEED)
    found = await actions_at(client, uri("noqa2.py"), place(SEED, WRAPPER))
    action = only(found, lambda a: a.title == "Silence KER101 on this line")
    assert apply_edits(SEED, edits_of(action, uri("noqa2.py"))) == SEED.replace(
        "(x)\nmodel", "(x)  # noqa: KER101\nmodel"
    )


NOTEBOOK_CELLS = [
    (types.NotebookCellKind.Markup, "markdown", "# A model\n\nIn three cells."),
    (types.NotebookCellKind.Code, "python", "%matplotlib inline\nimport keras\nfrom keras import layers"),
    (
        types.NotebookCellKind.Code,
        "python",
        "inputs = keras.Input(shape=(64, 15))\nx = layers.GRU(16, return_sequences=True)(inputs)",
    ),
    (types.NotebookCellKind.Code, "python", "y = 1\nx = layers.TimeDistributed(layers.Dense(15))(x)"),
]


async def test_notebook_diagnostics_go_to_their_cell(client: Client) -> None:
    notebook = uri("model.ipynb")
    cells = [f"{notebook}#cell{i}" for i in range(len(NOTEBOOK_CELLS))]
    before = len(client.published)
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[types.NotebookCell(kind=k, document=c) for (k, _, _), c in zip(NOTEBOOK_CELLS, cells)],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=c, language_id=language, version=1, text=source)
                for (_, language, source), c in zip(NOTEBOOK_CELLS, cells)
            ],
        )
    )
    diagnostics = await published(client, cells[3], before)
    finding = only(diagnostics, lambda d: True)
    assert finding.code == "KER101"
    assert finding.range == place(NOTEBOOK_CELLS[3][2], WRAPPER)  # line 1 of the cell, not of the program
    assert "line 2 of cell 3" not in finding.message  # KER101 names no other line
    assert await published(client, cells[2], before) == []
    assert all(p.uri != cells[0] for p in client.published[before:])  # markdown gets nothing

    # The quick fix edits the cell it belongs to, and only it.
    found = await actions_at(client, cells[3], finding.range, ["quickfix"])
    fix = only(found, lambda a: a.title.startswith("Replace the TimeDistributed"))
    fixed = apply_edits(NOTEBOOK_CELLS[3][2], edits_of(fix, cells[3]))
    assert fixed == "y = 1\nx = layers.Dense(15)(x)"

    # A change in cell 2 makes the finding in cell 3 another one.
    before = len(client.published)
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=notebook),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(version=2, uri=cells[2]),
                            changes=[
                                types.TextDocumentContentChangePartial(
                                    range=place(NOTEBOOK_CELLS[2][2], "True"), text="False"
                                )
                            ],
                        )
                    ]
                )
            ),
        )
    )
    assert [d.code for d in await published(client, cells[3], before)] == ["KER102"]
    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(notebook),
            cell_text_documents=[types.TextDocumentIdentifier(c) for c in cells],
        )
    )


async def test_a_notebook_opened_as_its_json_text(client: Client) -> None:
    """A client without notebook sync opens the .ipynb file itself: findings point into the JSON."""
    cells: list[dict[str, Any]] = [
        {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        | ({"execution_count": None, "outputs": []} if kind == "code" else {})
        for kind, source in (("markdown", "# Título ✓"), *(("code", c[2]) for c in NOTEBOOK_CELLS[1:]))
    ]
    raw = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1, ensure_ascii=False)
    before = len(client.published)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri("as_text.ipynb"), "json", 1, raw))
    )
    finding = only(await published(client, uri("as_text.ipynb"), before, 1), lambda d: True)
    assert finding.code == "KER101" and finding.range == place(raw, WRAPPER)
    found = await actions_at(client, uri("as_text.ipynb"), finding.range, ["quickfix"])
    fix = only(found, lambda a: a.title.startswith("Replace the TimeDistributed"))
    fixed = apply_edits(raw, edits_of(fix, uri("as_text.ipynb")))
    assert fixed == raw.replace(WRAPPER, "layers.Dense(15)")  # the JSON kept byte for byte elsewhere
    # Text that is not a notebook (half typed): no findings, no crash.
    assert await replace_all(client, "as_text.ipynb", raw[:-40], 2) == []


async def test_configuration_from_pyproject_and_from_the_client(client: Client) -> None:
    both = SEED + "\nseq = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(4), layers.GRU(2)])\n"
    assert sorted(str(d.code) for d in await open_document(client, "plain.py", both)) == ["KER101", "KER103"]
    # configured/pyproject.toml ignores KER101.
    assert [d.code for d in await open_document(client, "configured/model.py", both)] == ["KER103"]
    assert await open_document(client, "configured/skipped_model.py", both) == []  # exclude
    # An error in the file: said once, and the defaults apply meanwhile.
    assert sorted(str(d.code) for d in await open_document(client, "misconfigured/model.py", both)) == [
        "KER101",
        "KER103",
    ]
    said = [m.message for m in client.messages if "selct" in m.message]
    assert len(said) == 1 and "unknown key 'selct'; did you mean 'select'?" in said[0]
    # The file changes: the next lint of a document under it reads it again.
    (WORKSPACE / "configured" / "pyproject.toml").write_text('[tool.kerascheck]\nignore = ["KER101", "KER103"]\n')
    before = len(client.published)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri("configured/model.py")))
    )
    assert await published(client, uri("configured/model.py"), before) == []
    # The client's kerascheck.ignore for by-client/ ignores KER103.
    assert [d.code for d in await open_document(client, "by-client/model.py", both)] == ["KER101"]
    # A change of the client's settings applies to the documents open.
    client.set_configuration({"select": ["KER103"]}, section="kerascheck", scope_uri=uri("by-client") + "/")
    before = len(client.published)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert [d.code for d in await published(client, uri("by-client/model.py"), before)] == ["KER103"]


async def test_a_document_that_does_not_parse_clears_its_diagnostics(client: Client) -> None:
    assert [d.code for d in await open_document(client, "broken.py", SEED)] == ["KER101"]
    broken = SEED.replace("model = keras.Model(inputs, x)", "model = keras.Model(inputs, x")
    assert await replace_all(client, "broken.py", broken, 2) == []
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri("broken.py")), place(broken, WRAPPER).start)
    )
    assert hover is None
    assert [d.code for d in await replace_all(client, "broken.py", SEED, 3)] == ["KER101"]


async def test_the_document_is_never_run(client: Client) -> None:
    marker = WORKSPACE / "ran"
    text = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + SEED
    assert [d.code for d in await open_document(client, "side_effect.py", text)] == ["KER101"]
    assert not marker.exists()


async def test_verify_on_demand_and_the_proof_on_hover(client: Client, keras_pipe: KerasPipe) -> None:
    await open_document(client, "verify.py", SEED)
    where = place(SEED, WRAPPER)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri("verify.py")), where.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "Not verified yet" in hover.contents.value and "## Why it matters" in hover.contents.value  # the rule's page

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri("verify.py")))
    )
    lens = only(list(lenses or []), lambda lens: True)
    assert lens.command is not None and lens.command.title == "Verify with Keras" and lens.range == where
    before = len(client.published)
    keras_pipe.hold()  # the worker's hello waits, as while a worker of its own imports Keras
    command = asyncio.ensure_future(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=lens.command.command, arguments=lens.command.arguments)
        )
    )
    # While the worker starts (seconds), another document is linted as usual.
    assert [d.code for d in await open_document(client, "meanwhile.py", SEED)] == ["KER101"]
    assert not command.done()
    keras_pipe.release()
    answer = await command
    assert answer is not None and answer["status"] == "confirmed", answer
    assert keras_pipe.connections == 1  # the server's worker: Keras answered through its pipes
    republished = await published(client, uri("verify.py"), before)
    assert only(republished, lambda d: True).message.endswith("[confirmed by Keras]")
    assert any("KER101 on line 6: confirmed" in m.message for m in client.messages)

    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri("verify.py")), where.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    value = hover.contents.value
    assert "verified with Keras: **confirmed**" in value
    table = value.split("```text\n", 1)[1].removesuffix("\n```")
    # The two summaries side by side: one row holds the wrapper and the Dense it becomes.
    row = only(table.splitlines(), lambda line: line.startswith("6 "))
    assert "TimeDistributed(Dense(15))" in row and row.count("(None, 64, 15)") == 2 and row.count("255") == 2
    # Exactly as `kerascheck explain` prints it (from the cache the server filled: no Keras import).
    path = WORKSPACE / "verify.py"
    path.write_text(SEED, encoding="utf-8")
    explain = subprocess.run(
        [sys.executable, "-m", "kerascheck", "explain", f"{path}:6"],
        capture_output=True,
        text=True,
        env={**ENV, "COLUMNS": "160"},
        cwd=WORKSPACE,  # its pyproject.toml's verify-python, the server's: the cache's answer is theirs
    )
    assert explain.returncode == 0, explain.stderr
    assert table == explain.stdout.rstrip("\n")
    assert client.lens_refreshes >= 1  # the lens now says what Keras said
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri("verify.py")))
    )
    assert [lens.command.title for lens in lenses or [] if lens.command] == ["KER101: confirmed by Keras"]


async def test_verify_setting_verifies_every_finding_in_the_background(client: Client) -> None:
    client.set_configuration({"verify": True}, section="kerascheck", scope_uri=uri("verifying") + "/")
    text = SAFE.split("\nother")[0] + "\n"  # one KER103: the GRU feeds an LSTM a vector
    before = len(client.published)
    first = await open_document(client, "verifying/model.py", text)
    assert [d.message.endswith("]") for d in first] == [False]  # published at once, before Keras answers
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        last = [p for p in client.published[before:] if p.uri == uri("verifying/model.py")][-1]
        if last.diagnostics and last.diagnostics[0].message.endswith("[confirmed by Keras]"):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the finding was not verified")


@pytest_lsp.fixture(config=ClientServerConfig(SERVER, client_factory=make_client, server_env=ENV))  # type: ignore[untyped-decorator]
async def short_lived(lsp_client: Client) -> AsyncIterator[None]:
    # A client with no capabilities at all: no workspace/configuration, no notebooks; its settings
    # come with initialize.
    options = {"kerascheck": {"ignore": ["KER101"]}}
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), initialization_options=options)
    )
    yield


async def test_settings_from_initialize_then_shutdown_and_exit_are_clean(short_lived: Client) -> None:
    assert await open_document(short_lived, "exit.py", SEED) == []
    with_other = SEED + "\nseq = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(4), layers.GRU(2)])\n"
    assert [d.code for d in await replace_all(short_lived, "exit.py", with_other, 2)] == ["KER103"]
    await short_lived.shutdown_session()
    server = short_lived._server
    assert server is not None and server.returncode == 0
