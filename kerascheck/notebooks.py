"""Jupyter notebooks as one Python program, and back again. Nothing in a notebook is executed.

- ``to_program(raw)`` joins the code cells, in order, into one program (a model built in one cell
  and trained in another is one model) and returns it with a ``LineMap`` from each program line
  to its cell and its line in that cell. Each cell is first cleaned up as IPython does before it
  runs it (a leading indent and ``>>>`` or ``In [n]:`` prompts removed, each line keeping its
  place; the map says how many columns each line lost). IPython syntax (``%magic``, ``%%cell
  magic``, ``!shell``, ``obj?`` help, ``x = !cmd``) becomes a neutral line (``pass`` or blank),
  one line for one line, so every other line keeps its place. A cell that is still not Python is
  left out (blank lines) and named in the map's ``skipped``: the other cells are checked.
- ``with_program(raw, new_text)`` writes a changed program back into the cells it came from. A
  cell whose lines did not change is not touched, the magics come back as they were, and only the
  ``source`` of a changed cell is rewritten in the JSON text, in the notebook's own layout: outputs,
  metadata, indentation, key order and the final newline stay byte for byte.
- ``file_position(raw, cell, line, column)`` is where a cell position lies in the .ipynb file itself
  (for annotations that point into the file, as SARIF and GitHub's do).
- ``to_cells(findings, line_map)`` places findings on the program on the cells, ``line`` counted
  within the cell (``kerascheck.pipeline`` goes from a path to placed findings).

Cells are numbered from 1 among all the notebook's cells, markdown and raw cells included, as
Jupyter shows them.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from json.decoder import scanstring  # type: ignore[attr-defined]  # public since Python 2.6, absent from typeshed

from kerascheck.findings import Finding, SourceError
from kerascheck.sources import NOTEBOOK_SUFFIX, split_lines
from kerascheck.sources import is_notebook as is_notebook

SUFFIX = NOTEBOOK_SUFFIX

# Cell magics whose body is Python run in the kernel's namespace: the body is checked, the magic
# line is not. Every other cell magic (%%bash, %%writefile, %%html, ...) hides its whole cell.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# `x = !ls`, `files, errs = %sx ls`: IPython's assignment forms of shell and magic lines.
_ASSIGNED_MAGIC = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")
# IPython's automagics that take an argument and are never valid Python in that shape.
_AUTOMAGIC = re.compile(r"(?:pip|conda|mamba|cd)\s+[\w./~]")


class NotebookError(ValueError):
    """A notebook that cannot be read (``reason`` is one line for the user), or a change that
    cannot be written back into it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LineMap:
    """Program line ``n`` (1-based) is line ``lines[n - 1][1]`` of cell ``lines[n - 1][0]``, and
    its columns are ``shifts[n - 1]`` more in the cell (the indent or prompt IPython removes).
    ``skipped`` says, one message a cell, which cells are not Python and were left out."""

    lines: tuple[tuple[int, int], ...]
    shifts: tuple[int, ...] = ()
    skipped: tuple[str, ...] = ()

    def skipped_reason(self) -> str | None:
        """One line for the cells left out, or None when every code cell is Python."""
        if not self.skipped:
            return None
        which = "the cell is" if len(self.skipped) == 1 else "those cells are"
        return f"{'; '.join(self.skipped)} ({which} skipped, the others are checked)"

    def shift(self, line: int) -> int:
        """Columns the cleanup removed from the start of a program line."""
        return self.shifts[line - 1] if 1 <= line <= len(self.shifts) else 0

    def locate(self, line: int) -> tuple[int, int]:
        """The (cell, line in cell) of a program line; a line past the end counts in the last cell."""
        if not self.lines:
            raise ValueError("the notebook has no code")
        if line > len(self.lines):
            cell, last = self.lines[-1]
            return cell, last + line - len(self.lines)
        return self.lines[max(line, 1) - 1]

    def program_line(self, cell: int, line: int) -> int | None:
        try:
            return self.lines.index((cell, line)) + 1
        except ValueError:
            return None

    def label(self, line: int) -> str:
        """A program line as it reads in a message: ``4 of cell 3`` (as in ``on line 4 of cell 3``)."""
        cell, in_cell = self.locate(line)
        return f"{in_cell} of cell {cell}"


# ---------------------------------------------------------------- reading


@dataclass
class _Cell:
    number: int  # 1-based among all cells
    kind: str
    source: str  # the cell's text
    source_is_list: bool
    lines: list[str]  # the cell's lines, without line breaks
    program: list[str]  # the same lines cleaned up, IPython syntax neutralised (code cells only)
    neutral: list[bool]  # which lines were neutralised
    prefixes: list[str]  # what the cleanup removed from the start of each line
    error: str | None = None  # why the cell is not Python (then its program is blank)


@dataclass
class _Notebook:
    cells: list[_Cell]
    python: bool  # False for a notebook whose kernel is another language: it has no program

    def code_cells(self) -> list[_Cell]:
        return [cell for cell in self.cells if cell.kind == "code"] if self.python else []


def _split(text: str) -> list[str]:
    """Lines as Python counts them (``\\n``, ``\\r\\n``, ``\\r``), without the breaks; no empty last line."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _load(raw: str) -> _Notebook:
    try:
        data = json.loads(raw.removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise NotebookError(f"not a notebook: invalid JSON on {where}: {error.msg}") from None
    except RecursionError:
        raise NotebookError("not a notebook: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise NotebookError("not a notebook: the JSON is not an object")
    cells = data.get("cells")
    if cells is None and "worksheets" in data:
        raise NotebookError("nbformat 3 notebooks are not supported: open and save it in Jupyter to upgrade it")
    if not isinstance(cells, list):
        raise NotebookError('not a notebook: no "cells" list')
    given = data.get("metadata")
    metadata = given if isinstance(given, dict) else {}
    language = None
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            language = value[field]
            break
    python = language is None or language.lower().startswith("python")
    loaded = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"not a notebook: cell {number} has no cell_type")
        source = cell.get("source", "")
        is_list = isinstance(source, list)
        if is_list and all(isinstance(part, str) for part in source):
            text = "".join(source)
        elif isinstance(source, str):
            text = source
        else:
            raise NotebookError(f"not a notebook: cell {number} has a source that is not text")
        lines = _split(text)
        if cell["cell_type"] == "code":
            cleaned, prefixes = cleanup(lines)
            program, neutral = _neutralise(cleaned)
        else:
            program, neutral, prefixes = [], [], []
        loaded.append(_Cell(number, cell["cell_type"], text, is_list, lines, program, neutral, prefixes))
    return _Notebook(loaded, python)


# ---------------------------------------------------------------- IPython's cleanup

_INDENT = re.compile(r"[ \t]+")
# The prompts IPython strips (IPython.core.inputtransformer2's classic_prompt and ipython_prompt):
# ``>>>`` only starts a block (``...`` alone is valid Python); ``In [n]:`` and ``...:`` anywhere.
_CLASSIC_FIRST = re.compile(r">>>(?: |$)")
_CLASSIC = re.compile(r"(?:>>>|\.\.\.)(?: |$)")
_IPYTHON = re.compile(r"(?:(?:(?:\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)")


def cleanup(lines: list[str]) -> tuple[list[str], list[str]]:
    """A cell's lines as IPython cleans them up before running the cell, one line for one line,
    and the prefix removed from each: the first code line's indent from every line that starts
    with it, then ``>>>``/``...`` prompts, then ``In [n]:``/``...:`` prompts, each stripped from
    every line when the block's first line (or its second) carries one."""
    cleaned, prefixes = list(lines), [""] * len(lines)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return cleaned, prefixes
    indent = _INDENT.match(lines[first])
    if indent is not None:
        space = indent.group(0)
        for i in range(first, len(lines)):
            if cleaned[i].startswith(space):
                cleaned[i], prefixes[i] = cleaned[i][len(space) :], space
    for initial, prompt in ((_CLASSIC_FIRST, _CLASSIC), (_IPYTHON, _IPYTHON)):
        second = cleaned[first + 1] if first + 1 < len(cleaned) else None
        if initial.match(cleaned[first]) or (second is not None and prompt.match(second)):
            for i in range(first, len(cleaned)):
                found = prompt.match(cleaned[i])
                if found is not None:
                    cleaned[i], prefixes[i] = cleaned[i][found.end() :], prefixes[i] + found.group(0)
    return cleaned, prefixes


def _continuation(prefix: str) -> str:
    """The prefix for a line a fix adds after a line with ``prefix``: a prompt continues."""
    if prefix.endswith((">>> ", ">>>")):
        return prefix[: prefix.rindex(">>>")] + "... "
    found = re.search(r"In \[\d+\]: $", prefix)
    if found is not None:
        width = len(found.group(0))
        return prefix[: found.start()] + " " * (width - 5) + "...: "
    return prefix


def _syntax_error(lines: list[str], cell: int) -> str | None:
    """Why a cell's program lines are not Python, in one line; None when they are."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse("\n".join(lines) + "\n")
    except SyntaxError as error:
        if "too many nested" in (error.msg or ""):
            return f"cell {cell} is too deeply nested to parse"
        return f"syntax error in cell {cell} on line {error.lineno}: {error.msg}"
    except (RecursionError, MemoryError):
        return f"cell {cell} is too deeply nested to parse"
    except UnicodeEncodeError as error:  # an escaped lone surrogate in the JSON: no text to parse
        return f"cell {cell} holds a lone surrogate ({ascii(error.object[error.start])[1:-1]}), which is not text"
    except ValueError as error:  # a null byte, on Python 3.11
        return f"cell {cell} is not Python: {error}"
    return None


# ---------------------------------------------------------------- IPython syntax


class _Scanner:
    """Just enough of Python's tokenizer to tell where a statement may start: outside brackets,
    strings and backslash continuations. IPython syntax is only recognised there."""

    def __init__(self) -> None:
        self.depth = 0
        self.triple: str | None = None
        self.backslash = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.triple is None and not self.backslash

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.backslash = False
        while i < n:
            if self.triple is not None:
                if line[i] == "\\":
                    i += 2
                elif line.startswith(self.triple, i):
                    i += 3
                    self.triple = None
                else:
                    i += 1
                continue
            c = line[i]
            if c == "#":
                return
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            elif c in "'\"":
                if line.startswith(c * 3, i):
                    self.triple = c * 3
                    i += 3
                    continue
                i += 1
                while i < n and line[i] != c:
                    i += 2 if line[i] == "\\" else 1
            elif c == "\\" and i == n - 1:
                self.backslash = True
            i += 1


def _is_ipython(line: str) -> bool:
    """A line that is IPython syntax rather than Python, seen where a statement starts."""
    code = line.strip()
    if not code or code.startswith("#"):
        return False
    if code[0] in "%!?":
        return True
    if code.endswith("?") and "#" not in code:  # obj? and obj?? help
        return True
    return _ASSIGNED_MAGIC.match(code) is not None or _AUTOMAGIC.match(code) is not None


# Every line ``_is_ipython`` takes matches this, and most cells have none: those are not scanned.
_MAYBE_IPYTHON = re.compile(rf"^\s*(?:[%!?]|{_ASSIGNED_MAGIC.pattern}|{_AUTOMAGIC.pattern})|\?\s*$", re.MULTILINE)


def _neutralise(lines: list[str]) -> tuple[list[str], list[bool]]:
    """The cell's lines with IPython syntax replaced, one line for one line."""
    program, neutral = list(lines), [False] * len(lines)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    start = 0
    if first is not None and lines[first].startswith("%%"):
        name = (lines[first][2:].split() or [""])[0]
        if name not in PYTHON_CELL_MAGICS:
            return [""] * len(lines), [True] * len(lines)
        program[first], neutral[first] = "", True
        start = first + 1
    if _MAYBE_IPYTHON.search("\n".join(lines[start:])) is None:
        return program, neutral  # no line _is_ipython could take: no scan needed
    scanner = _Scanner()
    i = start
    while i < len(lines):
        line = lines[i]
        if scanner.at_statement_start and _is_ipython(line):
            indent = line[: len(line) - len(line.lstrip())]
            program[i], neutral[i] = f"{indent}pass", True
            while line.rstrip().endswith("\\") and i + 1 < len(lines):  # a magic continued on the next line
                i += 1
                line = lines[i]
                program[i], neutral[i] = "", True
        else:
            scanner.feed(line)
        i += 1
    return program, neutral


# ---------------------------------------------------------------- the program


def to_program(raw: str) -> tuple[str, LineMap]:
    """The notebook's code cells as one program, and where each of its lines came from.

    Raises NotebookError for text that is not a notebook. A notebook whose kernel is not Python
    gives an empty program.
    """
    notebook = _load(raw)
    parts: list[str] = []
    where: list[tuple[int, int]] = []
    shifts: list[int] = []
    skipped: list[str] = []
    for cell in _checked_cells(notebook):
        if cell.error is not None:
            skipped.append(cell.error)
        for number, (line, prefix) in enumerate(zip(cell.program, cell.prefixes), start=1):
            parts.append(line + "\n")
            where.append((cell.number, number))
            shifts.append(len(prefix))
    return "".join(parts), LineMap(tuple(where), tuple(shifts), tuple(skipped))


def _checked_cells(notebook: _Notebook) -> list[_Cell]:
    """The code cells, each that is not Python once cleaned up made blank and given its error.

    The cells are parsed together first: when the program parses and each cell holds whole
    statements of it, every cell is Python on its own (see ``_cells_whole``), and the program's
    tree is kept for its analysis (``parsed``). Else each cell is parsed alone.
    """
    cells = notebook.code_cells()
    program = "".join(line + "\n" for cell in cells for line in cell.program)
    where = [(cell.number, n) for cell in cells for n in range(1, len(cell.program) + 1)]
    tree = _parse(program)
    if tree is not None and _cells_whole(program, where, tree):
        _keep(program, tree)
        return cells
    for cell in cells:
        cell.error = _syntax_error(cell.program, cell.number)
        if cell.error is not None:
            cell.program = [""] * len(cell.program)
            cell.neutral = [True] * len(cell.program)
    return cells


def with_program(raw: str, new_text: str) -> str:
    """The notebook with ``new_text`` (a changed ``to_program`` text) written back into its cells.

    Unchanged cells keep their source exactly, magics included; a changed cell gets its new lines
    and keeps its outputs and metadata; the rest of the JSON text is kept byte for byte, so a text
    with no change gives back ``raw`` itself. Raises NotebookError when a change cannot be placed:
    it spans two cells, or it touches a line that was IPython syntax.
    """
    notebook = _load(raw)
    cells = _checked_cells(notebook)
    old_lines: list[str] = []
    owner: list[tuple[_Cell, int]] = []  # program line index -> (cell, index in cell)
    for cell in cells:
        for index, line in enumerate(cell.program):
            old_lines.append(line)
            owner.append((cell, index))
    new_lines = _LINE_BREAK.split(new_text)
    if new_lines and new_lines[-1] == "":
        new_lines.pop()
    if new_lines == old_lines:
        return raw
    if not owner:
        raise NotebookError("the notebook has no code to change")

    rebuilt: dict[int, list[str]] = {cell.number: [] for cell in cells}
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i1, i2):
                cell, index = owner[k]
                rebuilt[cell.number].append(cell.lines[index])  # the original line, magic and all
            continue
        touched = {owner[k][0].number for k in range(i1, i2)} or {owner[max(i1 - 1, 0)][0].number}
        if len(touched) > 1:
            first, *_, last = sorted(touched)
            raise NotebookError(f"a change spans cells {first} and {last}; it cannot be written back")
        if any(owner[k][0].neutral[owner[k][1]] for k in range(i1, i2)):
            raise NotebookError(f"a change touches an IPython line in cell {min(touched)}")
        rebuilt[touched.pop()].extend(_prefixed(owner, i1, i2, new_lines[j1:j2]))

    changed = {cell.number: rebuilt[cell.number] for cell in cells if rebuilt[cell.number] != cell.lines}
    if not changed:
        return raw
    spans = _source_spans(raw)
    ensure_ascii = _uses_ascii_escapes(raw)
    out, last = [], 0
    for cell in cells:
        if cell.number not in changed:
            continue
        span = spans[cell.number]
        breaks = _LINE_BREAK.search(cell.source)
        sep = breaks.group() if breaks else "\n"  # a cell's lines keep the breaks it has (CR, CRLF)
        text = sep.join(changed[cell.number])
        if changed[cell.number] and cell.source.endswith(("\n", "\r")):
            text += sep
        out += [raw[last : span.start], _render_source(raw, span, text, cell.source_is_list, ensure_ascii)]
        last = span.end
    out.append(raw[last:])
    return "".join(out)


def _prefixed(owner: list[tuple[_Cell, int]], i1: int, i2: int, new: list[str]) -> list[str]:
    """Changed lines with the indent or prompt the cleanup removed put back: each replaced line
    keeps its own, a line added after them gets the last one's (a prompt as its continuation)."""
    out = []
    for offset, line in enumerate(new):
        if i1 + offset < i2:
            cell, index = owner[i1 + offset]
            prefix = cell.prefixes[index]
        else:
            cell, index = owner[max(i2 - 1, 0)]
            prefix = _continuation(cell.prefixes[index])
        out.append(prefix + line if line else prefix.rstrip())
    return out


# ---------------------------------------------------------------- the JSON text itself


@dataclass(frozen=True)
class _Span:
    start: int  # offset of the source value in the raw text
    end: int
    items: tuple[tuple[int, int], ...] | None  # offsets of the list's strings; None for one string


class _Walker:
    """Offsets of values in a JSON text, which ``json`` does not give."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()

    def skip(self, i: int) -> int:
        match = _WHITESPACE.match(self.text, i)
        assert match is not None  # the pattern matches the empty text
        return match.end()

    def value_end(self, i: int) -> int:
        return self.decoder.raw_decode(self.text, i)[1]

    def members(self, i: int) -> list[tuple[str, int, int]]:
        """(key, value start, value end) of the object at ``i``."""
        found: list[tuple[str, int, int]] = []
        assert self.text[i] == "{"
        i = self.skip(i + 1)
        if self.text[i] == "}":
            return found
        while True:
            key, i = scanstring(self.text, i + 1)
            i = self.skip(self.skip(i) + 1)  # past the colon
            end = self.value_end(i)
            found.append((key, i, end))
            i = self.skip(end)
            if self.text[i] == "}":
                return found
            i = self.skip(i + 1)  # past the comma

    def elements(self, i: int) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        assert self.text[i] == "["
        i = self.skip(i + 1)
        if self.text[i] == "]":
            return found
        while True:
            end = self.value_end(i)
            found.append((i, end))
            i = self.skip(end)
            if self.text[i] == "]":
                return found
            i = self.skip(i + 1)


def _source_spans(raw: str) -> dict[int, _Span]:
    """Cell number -> where its ``source`` value lies in the raw text."""
    walker = _Walker(raw)
    top = walker.members(walker.skip(1 if raw.startswith("\ufeff") else 0))
    spans: dict[int, _Span] = {}
    for key, start, _ in top:
        if key != "cells":
            continue
        for number, (cell_start, _) in enumerate(walker.elements(start), start=1):
            for cell_key, value_start, value_end in walker.members(cell_start):
                if cell_key == "source":
                    items = tuple(walker.elements(value_start)) if raw[value_start] == "[" else None
                    spans[number] = _Span(value_start, value_end, items)
    return spans


def _uses_ascii_escapes(raw: str) -> bool:
    """Whether the file writes non-ASCII text as ``\\uXXXX`` (json's ensure_ascii) or as itself."""
    if not raw.isascii():
        return False
    return re.search(r"\\u(?!00[0-7])[0-9a-fA-F]{4}", raw) is not None


def _render_source(raw: str, span: _Span, text: str, as_list: bool, ensure_ascii: bool) -> str:
    if not as_list:
        return json.dumps(text, ensure_ascii=ensure_ascii)
    pieces = split_lines(text, keepends=True)
    items = [json.dumps(piece, ensure_ascii=ensure_ascii) for piece in pieces]
    old = span.items or ()
    if old:
        opening = raw[span.start + 1 : old[0][0]]
        closing = raw[old[-1][1] : span.end - 1]
        separator = raw[old[0][1] : old[1][0]] if len(old) > 1 else "," + (opening if "\n" in opening else " ")
    else:
        opening = closing = ""
        separator = ", "
    if not items:
        return "[]"
    return "[" + opening + separator.join(items) + closing + "]"


def file_position(raw: str, cell: int, line: int, column: int) -> tuple[int, int]:
    """Where (line, column) of a cell lies in the .ipynb text: both 1-based.

    The column counts the JSON-escaped text, as an editor showing the file would.
    Raises NotebookError when the notebook or the cell cannot be found.
    """
    spans = _source_spans(raw)
    span = spans.get(cell)
    pieces = () if span is None else span.items if span.items is not None else ((span.start, span.end),)
    if not pieces:
        raise NotebookError(f"cell {cell} has no source")
    texts = [json.loads(raw[start:end]) for start, end in pieces]
    source = "".join(texts)
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(source)]
    offset = starts[min(max(line, 1), len(starts)) - 1] + column - 1
    ensure_ascii = _uses_ascii_escapes(raw)
    consumed = 0
    for index, ((start, _), piece) in enumerate(zip(pieces, texts)):
        if offset < consumed + len(piece) or index == len(pieces) - 1:
            within = min(max(offset - consumed, 0), len(piece))
            raw_offset = start + len(json.dumps(piece[:within], ensure_ascii=ensure_ascii)) - 1
            break
        consumed += len(piece)
    line_start = raw.rfind("\n", 0, raw_offset) + 1
    return raw.count("\n", 0, raw_offset) + 1, raw_offset - line_start + 1


# ---------------------------------------------------------------- checking


def validate(text: str, line_map: LineMap, path: str, tree: ast.Module | None = None) -> None:
    """Each code cell must be Python on its own, as Jupyter runs it: else a SourceError naming the cell.

    ``tree``, CPython's tree of the whole program when it parses, spares parsing each cell again
    when every statement lies within one cell (see ``_cells_whole``).
    """
    if tree is not None and _cells_whole(text, line_map.lines, tree):
        return
    by_cell: dict[int, list[str]] = {}
    for line, (cell, _) in zip(text.split("\n"), line_map.lines):
        by_cell.setdefault(cell, []).append(line)
    for cell, lines in by_cell.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse("\n".join(lines) + "\n", filename=path)
        except SyntaxError as error:
            if "too many nested" in (error.msg or ""):
                raise SourceError(path, f"cell {cell} is too deeply nested to parse") from None
            raise SourceError(path, f"syntax error in cell {cell} on line {error.lineno}: {error.msg}") from None
        except (RecursionError, MemoryError):
            raise SourceError(path, f"cell {cell} is too deeply nested to parse") from None


# CPython's trees of the programs ``to_program`` made and parsed whole, by program, until their
# analysis takes them: a run reads every file before it analyses any (the pool is sized by all
# of them), so a tree kept for the last notebook read only would have every other notebook
# parsed twice. At most KEPT_CHARS of programs' trees are kept (about 46 bytes a character),
# the oldest let go first: a tree let go is parsed again when needed.
_parsed: dict[str, ast.Module] = {}
_kept_chars = [0]
KEPT_CHARS = 1_000_000


def _keep(program: str, tree: ast.Module) -> None:
    if len(program) > KEPT_CHARS:
        return
    _drop(program)
    while _parsed and _kept_chars[0] + len(program) > KEPT_CHARS:
        _drop(next(iter(_parsed)))
    _parsed[program] = tree
    _kept_chars[0] += len(program)


def _drop(program: str) -> ast.Module | None:
    tree = _parsed.pop(program, None)
    if tree is not None:
        _kept_chars[0] -= len(program)
    return tree


def parsed(program: str, take: bool = False) -> ast.Module | None:
    """CPython's tree of ``program`` when ``to_program`` made it and parsed it whole (and has
    not let it go); ``take`` lets it go: the analysis that asks needs it no more."""
    return _drop(program) if take else _parsed.get(program)


def _parse(program: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _cells_whole(text: str, cells: Sequence[tuple[int, int]], tree: ast.Module) -> bool:
    """Whether each cell holds whole top-level statements of the program that CPython parsed:
    then each cell parses on its own, as the very statements it holds. A statement beginning in
    one cell and ending in another, a cell ending on a line continued with a backslash, or
    line breaks that ast counts otherwise than ``line_map`` (a CR) say nothing either way."""
    if "\r" in text:
        return False
    for statement in tree.body:
        first = statement.lineno
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and statement.decorator_list:
            first = min(first, *(d.lineno for d in statement.decorator_list))
        last = statement.end_lineno or statement.lineno
        if not 1 <= first <= last <= len(cells) or cells[first - 1][0] != cells[last - 1][0]:
            return False
    lines = text.split("\n")
    return not any(
        lines[i].endswith("\\") and (i + 1 == len(cells) or cells[i + 1][0] != cells[i][0])
        for i in range(min(len(lines), len(cells)))
    )


def to_cells(findings: Iterable[Finding], line_map: LineMap) -> list[Finding]:
    """Findings placed on a program, placed on the notebook's cells instead."""
    placed = []
    for finding in findings:
        cell, line = line_map.locate(finding.line)
        end_cell, end_line = line_map.locate(finding.end_line)
        column = finding.column + line_map.shift(finding.line)  # the cell's own columns
        end_column = finding.end_column + line_map.shift(finding.end_line)
        if end_cell != cell:  # cannot happen for valid cells; keep the finding inside its own cell
            end_line, end_column = line, column + 1
        placed.append(replace(finding, line=line, column=column, end_line=end_line, end_column=end_column, cell=cell))
    return placed
