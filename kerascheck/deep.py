"""Deep but valid code: parse and walk it on a thread with a large stack, within stated limits.

CPython's parser keeps ``a and b and ...`` and comparison chains flat, but libcst (which parses
the texts a fix is offered for) nests them one level per operand, and its native parser recurses
once per level: 8,000 operands overflow the main thread's 8 MB stack and kill the process. Python
code that walks such trees (the graph's builder over ast's, fixes over libcst's) recurses as
deep. So the work runs on a thread whose stack has room for ``MAX_DEPTH`` levels, and a text
deeper than that is refused, before libcst sees it, with a line naming the limit.

Most code is shallow (the real-code corpus nests 23 levels at most): a text whose measured
nesting fits the caller's own recursion limit, ``FRAMES_PER_LEVEL`` frames a level and
``MARGIN`` more, is worked on the caller's thread, without starting one (a thread a file is
most of the fixed cost of a small file on a busy machine). Should the measure ever be wrong, a
RecursionError there sends the work, from the start, to the deep thread.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar, cast

from kerascheck.findings import SourceError

T = TypeVar("T")

MAX_DEPTH = 20_000  # levels of libcst nesting kerascheck reads (an `and` of 20,000 operands)
RECURSION_LIMIT = 200_000  # Python frames allowed on the deep thread (a few per level)
STACK_BYTES = (512 << 20, 256 << 20)  # reserved address space (only pages used are committed); the second
# when the first cannot be had (a tight address-space limit)

# Python frames kerascheck's walks of a tree (the graph over ast's, the rules, placing findings,
# printing and checking fixes) take a level of nesting: about 6 measured, twice that allowed
# (tests/test_graph_work.py runs the deepest shapes within it).
FRAMES_PER_LEVEL = 12
MARGIN = 150  # frames below the first level: the analysis' own calls, libcst's printer, the rules
# Whatever the recursion limit says (a caller, or a deep run on another thread, may have raised
# it), no deeper text is worked on the caller's thread: libcst's native parser recurses on its C
# stack, which the limit does not measure.
HERE_MAX_DEPTH = 100

_local = threading.local()


def too_deep(path: str, depth: int | None = None) -> SourceError:
    measured = f" ({depth} levels)" if depth is not None else ""
    return SourceError(path, f"too deeply nested to analyse{measured}: kerascheck reads up to {MAX_DEPTH} levels")


def nesting(tree: ast.AST) -> int:
    """How deep libcst's tree of this module goes, about: ast's depth, with each operand of a
    boolean or comparison chain one level more (libcst nests what ast keeps flat).

    Every file is measured before it is parsed, so this is a tight loop: ``ast.iter_child_nodes``
    spelled out (the same children), types compared with ``is``.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    pop, push = stack.pop, stack.append
    node_type, bool_op, compare = ast.AST, ast.BoolOp, ast.Compare
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is bool_op:
            depth += len(cast(ast.BoolOp, node).values)
        elif kind is compare:
            depth += len(cast(ast.Compare, node).ops)
        if depth > deepest:
            deepest = depth
        below = depth + 1
        for name in kind._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push((item, below))
            elif isinstance(value, node_type):
                push((value, below))
    return deepest


def check_depth(tree: ast.AST, path: str) -> int:
    """The module's nesting (see ``nesting``); SourceError when libcst could not read it within
    ``MAX_DEPTH`` levels."""
    depth = nesting(tree)
    if depth > MAX_DEPTH:
        raise too_deep(path, depth)
    return depth


def fits_here(depth: int) -> bool:
    """Whether work on a text nested ``depth`` levels fits the caller's thread: its frames so
    far, ``MARGIN`` and ``FRAMES_PER_LEVEL`` a level, within its recursion limit, and never
    deeper than ``HERE_MAX_DEPTH``."""
    if depth > HERE_MAX_DEPTH:
        return False
    frames = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back
    return frames + MARGIN + depth * FRAMES_PER_LEVEL <= sys.getrecursionlimit()


def run(work: Callable[[], T], path: str, depth: int | None = None) -> T:
    """``work()`` on a thread with a large stack and a high recursion limit (directly when
    already on one, or when the text's measured nesting ``depth`` fits the caller's thread, see
    ``fits_here``); a RecursionError becomes a SourceError naming the limit."""
    if getattr(_local, "deep", False) or getattr(_local, "here", False):
        return work()  # nested work on the same text, or on its fixes (an edit nests a level more at most)
    if depth is not None and fits_here(depth):
        _local.here = True
        try:
            return work()
        except RecursionError:
            pass  # the measure was wrong for this text: all of it again on the deep thread
        finally:
            _local.here = False
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        _local.deep = True
        try:
            outcome.append(work())
        except RecursionError:
            failure.append(too_deep(path))
        except BaseException as error:  # carried over to the caller's thread
            failure.append(error)
        finally:
            _local.deep = False

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        if not _start_deep(body):
            sys.setrecursionlimit(limit)
            body()  # no thread to be had: here, where a RecursionError comes sooner
    finally:
        sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]
    return outcome[0]


def _start_deep(body: Callable[[], None]) -> bool:
    """Run ``body`` on a thread with one of the large stacks; False when none can be had."""
    previous = threading.stack_size()
    for size in STACK_BYTES:
        try:
            threading.stack_size(size)
            thread = threading.Thread(target=body, name="kerascheck-deep")
            thread.start()
        except (RuntimeError, ValueError, MemoryError):
            continue
        finally:
            threading.stack_size(previous)
        thread.join()
        return True
    return False
