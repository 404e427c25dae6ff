"""The language server: pygls features wired to the modules that do the work.

Three threads. pygls' event loop reads every message and answers it; documents are copied there
(a ``Source``) before anything is analysed. One lint thread analyses, fixes and plans (a syntax
tree is only ever touched there). One verification thread talks to the Keras worker, so a model
being rebuilt never holds up diagnostics. The document is never imported or run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from kerascheck import __version__, notebooks
from kerascheck.server import actions, convert, text
from kerascheck.server.documents import (
    CODE,
    MARKDOWN,
    RAW,
    Cell,
    Source,
    notebook_file_source,
    notebook_source,
    python_source,
)
from kerascheck.server.lint import Linted, Placed, lint
from kerascheck.server.settings import Choice, ClientSettings, Resolver
from kerascheck.server.verification import Verified, Verifier, explanation

DEBOUNCE = 0.025  # seconds a change waits for the next one before it is analysed
CONFIGURATION_TIMEOUT = 5.0  # seconds to wait for the client's workspace/configuration answer
PYTHON_SUFFIXES = (".py", ".pyi")
T = TypeVar("T")


def _path(uri: str) -> str | None:
    try:
        return to_fs_path(uri)
    except Exception:
        return None


class KerascheckServer(LanguageServer):
    def __init__(self) -> None:
        sync = types.NotebookDocumentSyncOptions(
            notebook_selector=[
                types.NotebookDocumentFilterWithNotebook(notebook="*", cells=[types.NotebookCellLanguage("python")])
            ],
            save=True,
        )
        super().__init__(
            "kerascheck",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=sync,
        )
        self.lint_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kerascheck-lint")
        self.verifier = Verifier()
        self.resolver = Resolver()
        self.linted: dict[str, Linted] = {}  # by document (a notebook's, not its cells')
        self.open: set[str] = set()  # the documents open (notebooks by their URI, not their cells')
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.changed: dict[str, float] = {}  # document -> when it last changed (the loop's clock)
        self.background: set[asyncio.Future[Any]] = set()  # verifications under way (kept from the collector)
        self.published: dict[str, set[str]] = {}  # document -> the URIs it has diagnostics on
        self.client_settings: dict[str, ClientSettings] = {}
        self.default_settings = ClientSettings()  # initializationOptions, didChangeConfiguration
        self.shown: set[str] = set()  # problems said once
        self.errors: dict[str, str] = {}  # document -> why it was last not analysed

    # ------------------------------------------------------------ documents

    @property
    def encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return str(getattr(encoding, "value", encoding) or text.UTF16)

    def owner(self, uri: str) -> str:
        """The document a URI's diagnostics are computed for: a cell's notebook, else itself."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def version_of(self, owner: str) -> int | None:
        notebook = self.workspace.get_notebook_document(notebook_uri=owner)
        if notebook is not None:
            return notebook.version
        document = self.workspace.text_documents.get(unquote(owner))
        return None if document is None else document.version

    def source(self, owner: str) -> Source | None:
        """A copy of what to analyse for ``owner`` now; None for a document that is not Python."""
        path = _path(owner)
        notebook = self.workspace.get_notebook_document(notebook_uri=owner)
        if notebook is not None:
            cells = []
            for cell in notebook.cells:
                document = self.workspace.text_documents.get(unquote(cell.document))
                source = "" if document is None else document.source
                if cell.kind == types.NotebookCellKind.Code:
                    python = document is None or document.language_id in (None, "python")
                    cells.append(Cell(cell.document, CODE if python else RAW, source))
                else:
                    cells.append(Cell(cell.document, MARKDOWN, source))
            return notebook_source(owner, path or owner, notebook.version, cells)
        document = self.workspace.text_documents.get(unquote(owner))
        if document is None:
            return None
        if (path or owner).endswith(notebooks.SUFFIX):
            return notebook_file_source(owner, path or owner, document.version, document.source)
        if document.language_id != "python" and not (path or owner).endswith(PYTHON_SUFFIXES):
            return None
        return python_source(owner, path or owner, document.version, document.source)

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.lint_pool, function, *args)

    # ------------------------------------------------------------ settings

    async def settings_for(self, owner: str) -> ClientSettings:
        known = self.client_settings.get(owner)
        if known is not None:
            return known
        settings = self.default_settings
        capabilities = self.client_capabilities.workspace
        if capabilities is not None and capabilities.configuration:
            item = types.ConfigurationItem(scope_uri=owner, section="kerascheck")
            try:
                answer = await asyncio.wait_for(
                    self.workspace_configuration_async(types.ConfigurationParams(items=[item])), CONFIGURATION_TIMEOUT
                )
                if answer and answer[0] is not None:
                    settings, problems = ClientSettings.parse(answer[0])
                    self.say(problems)
            except Exception as error:
                self.log(f"workspace/configuration failed: {error}")
        self.client_settings[owner] = settings
        return settings

    def choose(self, source: Source, client: ClientSettings) -> Choice:
        root = _path(self.workspace.root_uri) if self.workspace.root_uri else None
        path = source.path if _path(source.uri) else None
        return self.resolver.choose(path, client, Path(root) if root else None)

    # ------------------------------------------------------------ linting

    def schedule(self, owner: str, delay: float) -> None:
        """Lint ``owner`` after ``delay`` seconds, a newer change before then replacing this one.

        A change after a quiet moment (no change for ``delay``, no lint under way) is linted at
        once: the debounce only holds back the changes of a burst, to lint the last of them.
        """
        now = asyncio.get_running_loop().time()
        quiet = now - self.changed.get(owner, -delay) >= delay
        self.changed[owner] = now
        task = self.tasks.pop(owner, None)
        busy = task is not None and not task.done()
        if task is not None and busy:
            task.cancel()
        self.tasks[owner] = asyncio.ensure_future(self._lint_later(owner, 0 if quiet and not busy else delay))

    async def _lint_later(self, owner: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.current(owner)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug of ours: say it in the log, keep serving
            self.log(f"internal error, please report: {type(error).__name__}: {error}")

    async def current(self, owner: str) -> Linted | None:
        """The lint of ``owner`` as it is now (made, and published, when it is not known yet)."""
        known = self.linted.get(owner)
        version = self.version_of(owner)
        if known is not None and known.version == version:
            return known
        source = self.source(owner)
        if source is None:
            return None
        choice = self.choose(source, await self.settings_for(owner))
        self.say(list(choice.problems))
        linted = await self.in_thread(self._lint, source, choice)
        if linted is None or self.version_of(owner) != source.version:
            return linted  # changed while it waited or was analysed: the next lint publishes
        self.linted[owner] = linted
        self.publish(linted)
        if choice.verify and linted.placed:
            future = asyncio.ensure_future(self.verify(owner, linted, [p.index for p in linted.placed], announce=False))
            self.background.add(future)
            future.add_done_callback(self.background.discard)
        return linted

    def _lint(self, source: Source, choice: Choice) -> Linted | None:
        if self.version_of(source.uri) != source.version:
            return None  # changed while this waited for the lint thread: not worth analysing
        recall = self.verifier.has_verdicts() or choice.verify
        linted = lint(source, choice, plans=recall)
        if linted.placed and recall:
            self._recall(linted)
        return linted

    def _recall(self, linted: Linted) -> None:
        """The verdicts known for a lint's findings (lint thread: plans read the tree)."""
        try:
            for placed in linted.placed:
                verified = self.verifier.known(linted.plan(placed.index), linted.choice.options)
                if verified is not None:
                    linted.verdicts[placed.index] = verified
        except Exception:  # planning failed: the findings stand, without verdicts
            return

    def publish(self, linted: Linted) -> None:
        owner, encoding = linted.source.uri, self.encoding
        if linted.error != self.errors.get(owner):
            if linted.error is not None:
                self.log(f"{linted.source.path}: {linted.error}; its diagnostics are cleared until it parses")
            self.errors[owner] = linted.error or ""
        by_uri: dict[str, list[types.Diagnostic]] = {uri: [] for uri in linted.source.uris()}
        for placed in linted.placed:
            lines = text.lines(linted.source.document_text(placed.uri) or "")
            by_uri.setdefault(placed.uri, []).append(
                convert.diagnostic(placed, lines, encoding, linted.verdicts.get(placed.index))
            )
        for uri in self.published.get(owner, set()) - set(by_uri):
            by_uri[uri] = []  # a cell that went away, or stopped being Python
        self.published[owner] = {uri for uri, found in by_uri.items() if found}
        for uri, diagnostics in by_uri.items():
            version = linted.version if uri == owner else None
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )

    def forget(self, owner: str) -> None:
        self.open.discard(owner)
        task = self.tasks.pop(owner, None)
        if task is not None:
            task.cancel()
        self.linted.pop(owner, None)
        self.changed.pop(owner, None)
        self.client_settings.pop(owner, None)
        self.errors.pop(owner, None)
        for uri in self.published.pop(owner, set()):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def relint_all(self) -> None:
        self.client_settings.clear()
        self.linted.clear()
        for owner in sorted(self.open):
            self.schedule(owner, 0)

    # ------------------------------------------------------------ verification

    async def verify(self, owner: str, linted: Linted, indexes: list[int], announce: bool) -> list[Verified]:
        """Verify findings of a lint in the background; publish again with the verdicts."""
        plans = await self.in_thread(lambda: [linted.plan(i) for i in indexes])
        done = await asyncio.wrap_future(self.verifier.submit(plans, linted.choice.options))
        news = [linted.verdicts.get(i) != verified for i, verified in zip(indexes, done)]
        for index, verified in zip(indexes, done):
            linted.verdicts[index] = verified
        if not announce and not any(news):
            return done  # nothing new to show (verify = true re-asks after every change)
        if announce:
            for index, verified in zip(indexes, done):
                placed = linted.placed[index]
                kind = {"confirmed": types.MessageType.Info, "refuted": types.MessageType.Error}.get(
                    verified.status, types.MessageType.Warning
                )
                where = f"line {placed.local.line}" + (f" of cell {placed.local.cell}" if placed.local.cell else "")
                message = f"kerascheck: {placed.finding.code} on {where}: {verified.status}: {verified.detail}"
                self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        latest = self.linted.get(owner)
        if latest is not None and latest is not linted and latest.placed:
            await self.in_thread(self._recall, latest)
        if latest is not None:
            self.publish(latest)
        capabilities = self.client_capabilities.workspace
        if capabilities is not None and capabilities.code_lens is not None and capabilities.code_lens.refresh_support:
            self.workspace_code_lens_refresh(None)
        return done

    # ------------------------------------------------------------ saying things

    def log(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=f"kerascheck: {message}"))

    def say(self, problems: list[str]) -> None:
        """Show each problem once (a configuration error is not repeated on every keystroke)."""
        for problem in problems:
            if problem not in self.shown:
                self.shown.add(problem)
                self.window_show_message(
                    types.ShowMessageParams(type=types.MessageType.Warning, message=f"kerascheck: {problem}")
                )

    def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.verifier.close()
        self.lint_pool.shutdown(wait=False, cancel_futures=True)


def _placed_at(linted: Linted, uri: str, position: types.Position, encoding: str) -> list[Placed]:
    lines = text.lines(linted.source.document_text(uri) or "")
    found = []
    for placed in linted.in_document(uri):
        where = convert.finding_range(placed.local, lines, encoding)
        start, end = (where.start.line, where.start.character), (where.end.line, where.end.character)
        if start <= (position.line, position.character) <= end:
            found.append(placed)
    return found


def build() -> KerascheckServer:
    server = KerascheckServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: KerascheckServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict):
            settings, problems = ClientSettings.parse(options.get("kerascheck", options))
            ls.default_settings = settings
            ls.say(problems)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KerascheckServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.open.add(params.text_document.uri)
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KerascheckServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KerascheckServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.linted.pop(params.text_document.uri, None)  # the configuration may have changed with it
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KerascheckServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: KerascheckServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.open.add(params.notebook_document.uri)
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: KerascheckServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, DEBOUNCE)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: KerascheckServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.linted.pop(params.notebook_document.uri, None)
        ls.schedule(params.notebook_document.uri, 0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: KerascheckServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration_changed(ls: KerascheckServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("kerascheck"), dict):
            ls.default_settings, problems = ClientSettings.parse(settings["kerascheck"])
            ls.say(problems)
        ls.relint_all()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL]),
    )
    async def code_action(ls: KerascheckServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        linted = await ls.current(ls.owner(uri))
        if linted is None:
            return None
        only = params.context.only
        return await ls.in_thread(actions.code_actions, linted, uri, params.range, only, ls.encoding)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: KerascheckServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        uri = params.text_document.uri
        linted = ls.linted.get(ls.owner(uri))
        if linted is None:
            return None
        lines = text.lines(linted.source.document_text(uri) or "")
        lenses = []
        for placed in linted.in_document(uri):
            verified = linted.verdicts.get(placed.index)
            title = f"{placed.finding.code}: {verified.status} by Keras" if verified else "Verify with Keras"
            command = actions.verify_command(placed, lines, ls.encoding, title)
            where = convert.finding_range(placed.local, lines, ls.encoding)
            lenses.append(types.CodeLens(range=where, command=command))
        return lenses

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: KerascheckServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        linted = await ls.current(ls.owner(uri))
        if linted is None:
            return None
        here = _placed_at(linted, uri, params.position, ls.encoding)
        if not here:
            return None
        parts = []
        for placed in here:
            verified = linted.verdicts.get(placed.index)
            if verified is None:
                parts.append(
                    convert.rule_page(placed.finding.code)
                    + '\n\n_Not verified yet: "Verify with Keras" (a code action and a code lens) rebuilds this model in Keras._'
                )
            else:
                head = f"**{placed.finding.code}** {placed.finding.name}, verified with Keras: **{verified.status}**"
                parts.append(f"{head}\n\n```text\n{explanation(placed.local, verified)}\n```")
        value = "\n\n---\n\n".join(parts)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value))

    @server.command(actions.VERIFY)
    async def verify(ls: KerascheckServer, *arguments: Any) -> dict[str, Any] | None:
        """``[uri, line, character, code]`` (the finding's start, as its diagnostic has it)."""
        if len(arguments) != 4 or not isinstance(arguments[0], str):
            raise ValueError(f"{actions.VERIFY} takes [uri, line, character, code]")
        uri, line, character, code = arguments
        owner = ls.owner(uri)
        linted = await ls.current(owner)
        chosen = None
        if linted is not None:
            lines = text.lines(linted.source.document_text(uri) or "")
            for placed in linted.in_document(uri):
                start = convert.finding_range(placed.local, lines, ls.encoding).start
                if placed.finding.code == code and start.line == line and start.character == character:
                    chosen = placed
        if linted is None or chosen is None:
            ls.say([f"no {code} finding at line {line + 1} any more: the document changed"])
            return None
        ls.log(f"verifying {code} on line {chosen.local.line} with Keras")
        verified = (await ls.verify(owner, linted, [chosen.index], announce=True))[0]
        return {"status": verified.status, "detail": verified.detail}

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: KerascheckServer, params: None) -> None:
        ls.stop()

    return server


def serve() -> int:
    build().start_io()
    return 0
