"""The ``kerascheck`` command: find files, check them, report, and say how it went.

Its flags are ruff's where ruff has the same thing (``--select``, ``--exit-zero``,
``--stdin-filename``, ``--output-format``, ``--statistics``, ``--show-fixes``, ``--color``, ...).
What parses and analyses (libcst, the graph, the rules, the verifier) is imported only once a file
needs it: a run over files without Keras costs little more than starting Python.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from kerascheck import __version__, config, pipeline, sources
from kerascheck.cache import Cache, clean, project_root, rule_codes
from kerascheck.discovery import Target, discover
from kerascheck.errors import SourceError
from kerascheck.report import FORMATS, Run
from kerascheck.runner import FileResult, check_files
from kerascheck.verify import options as verify_options

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from typing import Any, TextIO

    from kerascheck.findings import Finding

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
DEFAULT_FORMAT = "full"  # ruff's default: each finding with its source line and a caret
STDIN = "-"


def _codes(value: str) -> list[str]:
    """A comma-separated list of codes or code prefixes, each matching at least one rule."""
    codes = [part.strip().upper() for part in value.split(",") if part.strip()]
    if not codes:
        raise argparse.ArgumentTypeError(f"{value!r} names no rule code")
    for code in codes:
        problem = config.unknown_code(code)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
    return codes


def _jobs(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


class _Formatter(argparse.HelpFormatter):
    """argparse's help, its width found without importing shutil (and the compression modules
    shutil imports): argparse makes a formatter for every argument it is given."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size gives it: $COLUMNS, else the terminal's, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kerascheck",
        description="Find TimeDistributed and return_sequences mistakes in Keras model code.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"kerascheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="check files and folders", allow_abbrev=False)
    check.add_argument(
        "paths", nargs="*", default=None, metavar="PATH", help="files or folders (default: .); - reads standard input"
    )
    rule = check.add_argument_group("rule selection (each may be repeated; they add up)")
    rule.add_argument(
        "--select",
        type=_codes,
        action="extend",
        metavar="CODES",
        help="only these codes or prefixes, e.g. KER101,KER10",
    )
    rule.add_argument("--ignore", type=_codes, action="extend", metavar="CODES", help="skip these codes or prefixes")
    rule.add_argument(
        "--extend-select", type=_codes, action="extend", metavar="CODES", help="these codes or prefixes as well"
    )
    rule.add_argument(
        "--per-file-ignores",
        action="append",
        metavar="PATTERN:CODES",
        help="skip CODES in files matching PATTERN, instead of the configuration's per-file-ignores",
    )
    rule.add_argument(
        "--extend-per-file-ignores",
        action="append",
        metavar="PATTERN:CODES",
        help="like --per-file-ignores, on top of the configuration's",
    )
    files = check.add_argument_group("files")
    files.add_argument(
        "--config", type=Path, metavar="FILE", help="read [tool.kerascheck] from FILE for every file checked"
    )
    files.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    files.add_argument(
        "--extend-exclude", action="append", metavar="PATTERN", help="skip these too, as the configuration's exclude"
    )
    files.add_argument(
        "--stdin-filename", metavar="PATH", help="the name of the text read from standard input (with - as the path)"
    )
    files.add_argument(
        "--from-hook",
        action="store_true",
        help="the paths come from a hook runner (pre-commit): none means nothing to check, exclude applies to them",
    )
    files.add_argument("--jobs", type=_jobs, metavar="N", help="processes to use (default: as many as the work needs)")
    out = check.add_argument_group("output")
    out.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=list(FORMATS),
        default=None,
        help="full (the default), concise (one line a finding; text is its old name), json, sarif or github",
    )
    out.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    out.add_argument("-q", "--quiet", action="store_true", help="print the findings and nothing else")
    out.add_argument(
        "--statistics", action="store_true", help="count the findings of each code instead of listing them"
    )
    out.add_argument("--show-fixes", action="store_true", help="with --fix: list what was fixed in each file")
    out.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour: auto (on a terminal, unless NO_COLOR is set), always or never",
    )
    out.add_argument(
        "-e",
        "--exit-zero",
        action="store_true",
        help="exit 0 whatever was found or could not be checked; only a usage or configuration error exits 2",
    )
    fixes = check.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply the safe fixes and report what remains")
    fixes.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff, apply unsafe fixes too")
    fixes.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    verify_options.add_options(check)
    check.set_defaults(handler=_check)

    rule_page = commands.add_parser("rule", help="explain a rule, or list them all", allow_abbrev=False)
    rule_page.add_argument("code", nargs="?", help="a rule code such as KER101")
    rule_page.set_defaults(handler=_rule)
    verify_options.add_explain(commands)
    cleaner = commands.add_parser(
        "clean",
        help="remove the findings caches (.kerascheck_cache) of this folder, its project and below",
        allow_abbrev=False,
    )
    cleaner.set_defaults(handler=_clean)
    server = commands.add_parser(
        "server", help="the language server, over stdio (pip install 'kerascheck[server]')", allow_abbrev=False
    )
    server.set_defaults(handler=_server)
    return parser


def _overrides(args: argparse.Namespace) -> config.Overrides:
    """What the command line sets on top of each file's configuration. Raises ConfigError."""
    cwd = Path.cwd()
    replaced = args.per_file_ignores
    return config.Overrides(
        selection=config.Selection(
            None if args.select is None else tuple(args.select),
            tuple(args.extend_select or ()),
            tuple(args.ignore or ()),
        ),
        per_file_ignores=None if replaced is None else tuple(config.parse_per_file_ignore(v, cwd) for v in replaced),
        extend_per_file_ignores=tuple(config.parse_per_file_ignore(v, cwd) for v in args.extend_per_file_ignores or ()),
        extend_exclude=tuple(config.Glob.compile(p, cwd) for p in args.extend_exclude or ()),
    )


def _use_color(args: argparse.Namespace, stream: TextIO) -> bool:
    """--color, as ruff reads it: ``auto`` colours a terminal unless NO_COLOR is set (FORCE_COLOR forces it)."""
    if args.color != "auto":
        return bool(args.color == "always")
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return args.output is None and stream.isatty()


def _diff(result: FileResult) -> str:
    """The unified diff of one fixed file; a notebook's, cell by cell (as ruff shows it)."""
    import difflib

    source = result.source
    assert source is not None and result.fixed_text is not None
    after = pipeline.from_text(source.path, result.fixed_text, source.encoding)
    if source.line_map is None or after.line_map is None:
        before_lines = sources.split_lines(source.raw, keepends=True)  # lines as CPython counts them
        after_lines = sources.split_lines(result.fixed_text, keepends=True)
        return "".join(difflib.unified_diff(before_lines, after_lines, source.path, source.path))
    return "".join(_cell_diffs(source, after))


def _cells(source: pipeline.Source) -> dict[int, list[str]]:
    """A notebook's program, cell by cell, each line ending in a newline."""
    assert source.line_map is not None
    cells: dict[int, list[str]] = {}
    for text, (cell, _) in zip(source.program.split("\n"), source.line_map.lines):
        cells.setdefault(cell, []).append(text + "\n")
    return cells


def _cell_diffs(before: pipeline.Source, after: pipeline.Source) -> list[str]:
    import difflib

    old, new = _cells(before), _cells(after)
    out: list[str] = []
    for cell in sorted(old.keys() | new.keys()):
        label = f"{before.path}:cell {cell}"
        out += difflib.unified_diff(old.get(cell, []), new.get(cell, []), label, label)
    return out


def _apply_fixes(results: list[FileResult], diff: bool, stdin: bool) -> tuple[list[SourceError], int, str]:
    """Write the fixed files (standard input's: to stdout), or with ``diff`` make their diff;
    the errors, the number of fixes applied, and the text for stdout."""
    from kerascheck.writeback import write_fixed

    errors, applied, printed = [], 0, []
    for result in results:
        if stdin and not diff and result.error is None:
            source = result.source
            printed.append(result.fixed_text if result.fixed_text is not None else source.raw if source else "")
            applied += result.fixed
            continue
        if result.fixed_text is None:
            continue
        if diff:
            printed.append(_diff(result))
            applied += result.fixed
            continue
        try:
            source = result.source  # as it was read: written in its encoding, only over its stamp
            encoding, stamp = ("utf-8", None) if source is None else (source.encoding, source.stamp)
            if write_fixed(Path(result.path), result.fixed_text, encoding, read=stamp):
                applied += result.fixed
        except SourceError as error:
            errors.append(error)
    return errors, applied, "".join(printed)


def _name(code: str) -> str:
    from kerascheck import rules

    rule = rules.get(code)
    return code if rule is None else rule.name


STATISTICS_FORMATS = ("full", "concise", "text", "json")  # ruff's: a table, or JSON


def _statistics(findings: list[Finding], unsafe_fixes: bool) -> list[tuple[int, str, bool]]:
    """(count, code, whether the fixes asked for take some) a code, most frequent first."""
    counts = Counter(f.code for f in findings)
    fixable = {f.code for f in findings if f.fix is not None and (unsafe_fixes or f.fix.applicability == "safe")}
    return [(count, code, code in fixable) for code, count in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


def _statistics_table(findings: list[Finding], unsafe_fixes: bool) -> str:
    """One line a code, as ruff's --statistics: count, code, [*] when fixable, name."""
    rows = _statistics(findings, unsafe_fixes)
    return "".join(f"{count}\t{code}\t{'[*] ' if fixable else '    '}{_name(code)}\n" for count, code, fixable in rows)


def _statistics_json(findings: list[Finding], unsafe_fixes: bool) -> str:
    """ruff's --statistics under --output-format json: a list of code, name, count, fixable."""
    import json

    rows = _statistics(findings, unsafe_fixes)
    listed = [{"code": code, "name": _name(code), "count": count, "fixable": fixable} for count, code, fixable in rows]
    return json.dumps(listed, indent=2) + "\n"


def _fixed_listing(results: list[FileResult]) -> str:
    """What --fix changed, per file (ruff's --show-fixes)."""
    lines = []
    for result in results:
        if not result.fixed_codes:
            continue
        lines.append(f"- {result.path}:")
        for code, count in sorted(Counter(result.fixed_codes).items()):
            lines.append(f"    {count} \u00d7 {code} ({_name(code)})")
    total = sum(len(r.fixed_codes) for r in results)
    head = f"Fixed {total} finding{'s' if total != 1 else ''}:" if lines else "No findings fixed."
    return "\n".join([head, *lines]) + "\n"


def _targets(args: argparse.Namespace, resolver: config.Resolver) -> tuple[list[Target], list[SourceError]]:
    if STDIN in args.paths:
        name = args.stdin_filename or STDIN
        data = sys.stdin.buffer.read()
        try:
            source = pipeline.decode(name, data)
        except SourceError as error:
            return [], [error]
        if args.stdin_filename and resolver.is_excluded(name) and args.from_hook:
            return [], []
        return [Target(Path(name), explicit=True, source=source)], []
    return discover(
        args.paths, excluded=resolver.is_excluded, from_hook=args.from_hook, files_excluded=resolver.files_excluded
    )


def _cache(resolver: config.Resolver) -> Cache:
    """The findings cache: beside the configuration that applies to a file, else at the project root."""
    root = project_root()

    def folder_for(path: str) -> Path:
        settings = resolver.settings_for(path, folder=False)  # a file's: the same for its folder's files
        return root if settings.path is None else settings.path.parent

    return Cache(folder_for, resolver.rules_key)


def _check(args: argparse.Namespace) -> int:
    if args.statistics and (args.format or DEFAULT_FORMAT) not in STATISTICS_FORMATS:
        print(f"error: --statistics is printed as a table or as JSON, not as {args.format}", file=sys.stderr)
        return EXIT_ERROR
    try:
        resolver = config.Resolver(args.config, isolated=args.isolated, overrides=_overrides(args))
    except config.ConfigError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return EXIT_ERROR
    args.settings = resolver.default  # --verify's options come from the working folder's table
    # With --from-hook, no path means that pre-commit passed no file: check nothing, not the folder.
    args.paths = args.paths or ([] if args.from_hook else ["."])
    if (args.stdin_filename and not args.paths) or (args.paths == ["."] and args.stdin_filename):
        args.paths = [STDIN]
    stdin = STDIN in args.paths
    try:
        targets, errors = _targets(args, resolver)
        fix = None if not (args.fix or args.diff) else "unsafe" if args.unsafe_fixes else "safe"
        results = check_files(
            targets,
            jobs=args.jobs,
            fix=fix,
            codes_for=resolver.codes_for,
            verify=verify_options.wanted(args) and not args.diff,
            cache=None if verify_options.no_cache(args) else _cache(resolver),
        )
        if not verify_options.no_cache(args) and "kerascheck.rules" in sys.modules:
            rule_codes(project_root())  # the rules are loaded: keep their codes for the runs that load none
    except config.ConfigError as error:  # a table met on the way, nearer some file
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    errors += [r.error for r in results if r.error is not None]
    printed, applied = "", 0
    if fix is not None:
        fix_errors, applied, printed = _apply_fixes(results, diff=args.diff, stdin=stdin)
        errors += fix_errors
    for problem in errors:
        print(f"error: {problem.path}: {problem.reason}", file=sys.stderr)
    exit_error = EXIT_CLEAN if args.exit_zero else EXIT_ERROR
    if args.diff:
        if not _write(printed, args.output, sys.stdout):
            return EXIT_ERROR
        if not args.quiet:
            print(f"{applied} fix{'es' if applied != 1 else ''} would be applied.", file=sys.stderr)
        return exit_error if errors else EXIT_CLEAN if args.exit_zero or not applied else EXIT_FINDINGS
    if verify_options.wanted(args):
        from kerascheck.verify import cli as verify_cli

        verify_cli.run(results, args)
    findings = [f for r in results for f in r.findings]
    # Standard input fixed: the fixed text is stdout's; the report goes to stderr (as ruff does).
    stream = sys.stderr if stdin and fix is not None else sys.stdout
    if printed and not _write(printed, None, sys.stdout):
        return EXIT_ERROR
    report = _report(args, results, findings, errors, applied, fix is not None, _use_color(args, stream))
    if not _write(report, args.output, stream):
        return EXIT_ERROR
    if errors:
        return exit_error
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _report(
    args: argparse.Namespace,
    results: list[FileResult],
    findings: list[Finding],
    errors: list[SourceError],
    applied: int,
    fixing: bool,
    color: bool,
) -> str:
    name = args.format or DEFAULT_FORMAT
    # The files as they were checked: the report quotes the text its findings are on (standard
    # input is not on disk, and a file read again would be decoded, a notebook converted, twice).
    sources = {}
    for result in results:
        if result.source is not None and result.findings:
            fixed = result.fixed_text
            sources[result.path] = result.source if fixed is None else pipeline.from_text(result.path, fixed)
    run = Run(findings, errors, unsafe_fixes=args.unsafe_fixes, color=color, sources=sources)
    textual = name in ("full", "concise", "text")
    if args.statistics and textual:
        report = _statistics_table(findings, args.unsafe_fixes)
        return report if args.quiet else report + "\n".join(_summary(run)) + "\n"
    if args.statistics:
        return _statistics_json(findings, args.unsafe_fixes)
    report = FORMATS[name](run)
    if not textual:
        return report
    if args.quiet:  # the findings alone: the summary is the last block of lines
        kept = len(report.rstrip("\n").split("\n")) - len(_summary(run))
        report = "".join(line + "\n" for line in report.rstrip("\n").split("\n")[:kept]).rstrip("\n")
        return report + "\n" if report else ""
    if fixing:
        head = _fixed_listing(results) + "\n" if args.show_fixes else ""
        report = head + f"Fixed {applied} finding{'s' if applied != 1 else ''}.\n" + report
    return report


def _summary(run: Run) -> list[str]:
    from kerascheck.report.text import summary

    return summary(run)


def _write(text: str, output: Path | None, stream: TextIO) -> bool:
    """Write ``text`` to ``output`` (its folders made), else to ``stream``; False after saying why not."""
    if output is None:
        stream.write(text)
        return True
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"error: {output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
        return False
    return True


def _rule(args: argparse.Namespace) -> int:
    from kerascheck import rules

    if args.code is None:
        for each in rules.all_rules():
            print(f"{each.code}  {each.name:40} {each.summary}")
        return EXIT_CLEAN
    rule = rules.get(args.code.upper())
    if rule is None:
        print(f"error: unknown rule {args.code!r}; `kerascheck rule` lists them", file=sys.stderr)
        return EXIT_ERROR
    print(rule.page, end="")
    return EXIT_CLEAN


def _clean(args: argparse.Namespace) -> int:
    """``kerascheck clean``, as ``ruff clean``: the caches in the working folder and below it, and
    those a check from here also uses (the project root's, the working folder's configuration's)."""
    found = config.find()
    beside = [project_root(), *([] if found is None else [found.parent])]
    for removed in clean(Path.cwd(), beside):
        print(f"Removed {os.path.relpath(removed)}")
    return EXIT_CLEAN


def _server(args: argparse.Namespace) -> int:
    from kerascheck.server import run  # pygls is imported by the server command only

    return run()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# Allocations between collections of the young objects in a run (Python's default: 700). Reading
# notebooks, importing libcst and the rules, and the report allocate many thousands of objects
# that reference counting frees (the analyses run with the collector off): at 700 the collector
# walked them for nothing, 1.2% of a check of the real-code corpus in instructions.
GC_YOUNG = 10_000


def main(argv: Sequence[str] | None = None) -> int:
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG), middle, old)
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] != ["check"] or "--no-cache" in words or verify_options.no_cache(argparse.Namespace()):
        return _main(words)  # the kept rule codes are check's: the server and explain write no cache
    root = project_root()
    with config.known_codes(lambda: rule_codes(root)):  # a table's codes checked without loading the rules
        return _main(words)


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # say it with the usage of the command it was given to, not the top-level one
        _subcommands(parser)[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
