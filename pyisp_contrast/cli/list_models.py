"""``pyisp-contrast list-models``: the shipped weights and the registered models."""

from __future__ import annotations

import argparse

from pyisp_contrast.cli._common import TASK_WEIGHTS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "list-models",
        help="list the shipped weights and the registered models",
        description="List the weights shipped with the package (name, architecture, parameters, "
        "task, the first line of the model card) and the models of the registry.",
    )
    p.add_argument("--task", choices=sorted(TASK_WEIGHTS), help="only this task")
    return p


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pyisp_contrast.models import available_weights, get_model_info, list_models, weights_info

    defaults = set(TASK_WEIGHTS.values())
    rows = []
    for name in available_weights():
        info = weights_info(name)
        if args.task and info.task != args.task:
            continue
        summary = info.summary if len(info.summary) <= 70 else info.summary[:67] + "..."
        label = f"{name} (default)" if name in defaults else name
        rows.append([label, info.architecture, f"{info.parameters:,}", info.task, summary])
    print("Shipped weights (load_pretrained(NAME), pyisp-contrast enhance --weights NAME):")
    print(_table(["name", "architecture", "parameters", "task", "model card"], rows))
    rows = []
    for name in list_models(task=args.task):
        info = get_model_info(name)
        rows.append([name, info.architecture or "-", info.task, "yes" if info.trainable else "no",
                     info.summary[:70]])  # fmt: skip
    print("\nRegistered models (get_model(NAME); trainable ones by `model = NAME` in a config):")
    print(_table(["name", "class", "task", "trainable", "summary"], rows))
    return 0
