"""The ``kerascheck`` command: find files, check them, report, and say how it went."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from kerascheck import __version__, config, rules
from kerascheck.discovery import discover
from kerascheck.findings import SourceError
from kerascheck.report import FORMATS, text
from kerascheck.runner import FileResult, check_files
from kerascheck.verify import cli as verify_cli
from kerascheck.writeback import write_fixed

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> tuple[str, ...]:
    """A comma-separated list of codes or code prefixes, each matching at least one rule."""
    codes = tuple(part.strip().upper() for part in value.split(",") if part.strip())
    for code in codes:
        if not any(rule.code.startswith(code) for rule in rules.all_rules()):
            known = ", ".join(rule.code for rule in rules.all_rules())
            raise argparse.ArgumentTypeError(f"unknown rule code or prefix {code!r} (known: {known})")
    return codes


def _jobs(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerascheck",
        description="Find TimeDistributed and return_sequences mistakes in Keras model code.",
    )
    parser.add_argument("--version", action="version", version=f"kerascheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check files and folders")
    check.add_argument("paths", nargs="*", default=None, metavar="PATH", help="files or folders (default: .)")
    check.add_argument("--select", type=_codes, metavar="CODES", help="only these codes or prefixes, e.g. KER101,KER10")
    check.add_argument("--ignore", type=_codes, metavar="CODES", help="skip these codes or prefixes")
    check.add_argument("--extend-select", type=_codes, metavar="CODES", help="these codes or prefixes as well")
    check.add_argument(
        "--config", type=Path, metavar="FILE", help="read [tool.kerascheck] from FILE, not the nearest pyproject.toml"
    )
    check.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    check.add_argument(
        "--from-hook",
        action="store_true",
        help="the paths come from a hook runner (pre-commit): none means nothing to check, exclude applies to them",
    )
    check.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    check.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--jobs", type=_jobs, metavar="N", help="processes to use (default: number of cores)")
    check.add_argument("--fix", action="store_true", help="apply the safe fixes and report what remains")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff, apply unsafe fixes too")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    verify_cli.add_options(check)
    check.set_defaults(handler=_check)

    rule = commands.add_parser("rule", help="explain a rule, or list them all")
    rule.add_argument("code", nargs="?", help="a rule code such as KER101")
    rule.set_defaults(handler=_rule)
    verify_cli.add_explain(commands)
    server = commands.add_parser("server", help="the language server, over stdio (pip install 'kerascheck[server]')")
    server.set_defaults(handler=_server)
    return parser


def _apply_fixes(results: list[FileResult], diff: bool) -> tuple[list[SourceError], int]:
    """Write (or, with ``diff``, print) the fixed files; the errors and the number of fixes."""
    errors, applied = [], 0
    for result in results:
        if result.fixed_text is None:
            continue
        path = Path(result.path)
        if diff:
            assert result.source is not None
            before = result.source.raw.splitlines(keepends=True)
            after = result.fixed_text.splitlines(keepends=True)
            sys.stdout.writelines(difflib.unified_diff(before, after, result.path, result.path))
            applied += result.fixed
            continue
        try:
            encoding = "utf-8" if result.source is None else result.source.encoding
            if write_fixed(path, result.fixed_text, encoding):
                applied += result.fixed
        except SourceError as error:
            errors.append(error)
    return errors, applied


def _settings(args: argparse.Namespace) -> config.Settings:
    """The configuration with the command line over it; stored as ``args.settings`` (its ``verify`` too).

    Raises ConfigError."""
    settings = config.resolve(args.config, isolated=args.isolated)
    command_line = config.Selection(args.select, args.extend_select or (), args.ignore or ())
    args.settings = settings
    args.select, args.ignore = config.select_codes([settings.selection, command_line]), None
    return settings


def _check(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except config.ConfigError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return EXIT_ERROR
    # With --from-hook, no path means that pre-commit passed no file: check nothing, not the folder.
    args.paths = args.paths or ([] if args.from_hook else ["."])
    excluded = settings.is_excluded if settings.exclude else None
    targets, errors = discover(args.paths, excluded=excluded, from_hook=args.from_hook)
    fix = None if not (args.fix or args.diff) else "unsafe" if args.unsafe_fixes else "safe"
    results = check_files(
        targets,
        select=args.select,
        ignore=args.ignore,
        jobs=args.jobs,
        fix=fix,
        per_file_ignore=settings.ignores_for if settings.per_file_ignores else None,
        verify=verify_cli.wanted(args) and not args.diff,
    )
    errors += [r.error for r in results if r.error is not None]
    if fix is not None:
        fix_errors, applied = _apply_fixes(results, diff=args.diff)
        errors += fix_errors
    for error in errors:
        print(f"error: {error.path}: {error.reason}", file=sys.stderr)
    if args.diff:
        print(f"{applied} fix{'es' if applied != 1 else ''} would be applied.", file=sys.stderr)
        return EXIT_ERROR if errors else EXIT_FINDINGS if applied else EXIT_CLEAN
    if verify_cli.wanted(args):
        verify_cli.run(results, args)
    findings = [f for r in results for f in r.findings]
    render = FORMATS[args.format]
    report = render(findings, unsafe_fixes=args.unsafe_fixes) if render is text.render else render(findings)
    if fix is not None and args.format == "text":
        report = f"Fixed {applied} finding{'s' if applied != 1 else ''}.\n" + report
    if args.output is not None:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(report, encoding="utf-8")
        except OSError as error:
            print(f"error: {args.output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
            return EXIT_ERROR
    else:
        sys.stdout.write(report)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _rule(args: argparse.Namespace) -> int:
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


def _server(args: argparse.Namespace) -> int:
    from kerascheck.server import run  # pygls is imported by the server command only

    return run()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
