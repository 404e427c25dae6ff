"""The command-line flags of verification, on ``check`` and ``explain``, without the verifier.

Building the parser must not import what verifies (libcst, the rules, the worker's client): a
run that verifies nothing never loads them. ``kerascheck.verify.cli`` does the work.
"""

from __future__ import annotations

import argparse
import os

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from typing import Any

NO_CACHE = "KERASCHECK_NO_CACHE"  # set (not "0" or "false"): as --no-cache, as RUFF_NO_CACHE is to ruff


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):  # nan and inf are no time limits
        raise argparse.ArgumentTypeError(f"{value!r}: must be a finite number of seconds, more than 0")
    return seconds


def add_options(parser: argparse.ArgumentParser, verify_flag: bool = True) -> None:
    """The verification options, on ``check`` (with ``--verify``) and on ``explain``.

    On ``check``, ``--no-cache`` skips both caches: the findings cache and --verify's models."""
    if verify_flag:
        parser.add_argument(
            "--verify",
            action="store_true",
            default=None,
            help="rebuild each finding's model in the installed Keras, original and fixed, and say whether Keras agrees",
        )
    parser.add_argument(
        "--keras",
        choices=["keras", "tf_keras"],
        default=None,
        help="the Keras to verify with: keras (Keras 3, the default) or tf_keras (Keras 2, the tf-keras package)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=(
            "read and write no cache: neither the findings cache nor, with --verify, the models built"
            if verify_flag
            else "rebuild every model, do not read or write the cache"
        ),
    )
    parser.add_argument(
        "--verify-timeout", type=_seconds, default=None, metavar="SECONDS", help="time limit of one model (default: 60)"
    )


def wanted(args: argparse.Namespace) -> bool:
    """``--verify``, or ``verify = true`` in the configuration (``args.settings``)."""
    if getattr(args, "verify", None):
        return True
    settings = getattr(args, "settings", None)
    return bool(getattr(settings, "verify", False))


def no_cache(args: argparse.Namespace) -> bool:
    """``--no-cache``, or KERASCHECK_NO_CACHE set in the environment: no cache read or written."""
    if getattr(args, "no_cache", False):
        return True
    return os.environ.get(NO_CACHE, "").strip().lower() not in ("", "0", "false", "no")


def _explain(args: argparse.Namespace) -> int:
    from kerascheck.verify.cli import explain_command

    return explain_command(args)


def add_explain(commands: Any) -> None:
    explain = commands.add_parser(
        "explain",
        help="show the original and the fixed model of a finding, side by side, as Keras builds them",
        allow_abbrev=False,
    )
    explain.add_argument(
        "where",
        metavar="LOCATION",
        help="where a finding is, as `check` prints it: FILE:LINE:COL, FILE:LINE, NOTEBOOK:cell N:LINE[:COL]",
    )
    explain.add_argument("--code", help="only the finding with this code (when a line has several)")
    add_options(explain, verify_flag=False)
    explain.set_defaults(handler=_explain)
