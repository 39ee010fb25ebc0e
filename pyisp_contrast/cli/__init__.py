"""The ``pyisp-contrast`` command line.

Each sub-command lives in its own module of this package with two functions:
``add_parser(subparsers)`` (registers its options) and ``run(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Sub-command name -> module inside this package.
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "enhance": "enhance",
    "evaluate": "evaluate",
    "export": "export",
    "list-models": "list_models",
    "train": "train",
}

__all__ = ["COMMANDS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyisp-contrast",
        description="Differentiable ISP primitives for contrastive low-level vision.",
    )
    from pyisp_contrast import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        mod = importlib.import_module(f"{__name__}.{module}")
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyisp-contrast`` console script."""
    from pyisp_contrast.cli._common import Terminated

    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:  # SIGTERM / SIGHUP, where a command turned them into an exception
        print("terminated", file=sys.stderr)
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
