"""Tests for the options and error lines that the sub-commands share (``cli/_common.py``)."""

from __future__ import annotations

import argparse

import pytest

from pyisp_contrast.cli import build_parser, main
from pyisp_contrast.cli._common import TASK_WEIGHTS, add_model_options, command_error
from pyisp_contrast.models import available_weights


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _option(p: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in p._actions if flag in a.option_strings)


def test_every_task_has_shipped_default_weights() -> None:
    assert set(TASK_WEIGHTS.values()) <= set(available_weights())


@pytest.mark.parametrize("command", ["enhance", "export", "evaluate", "list-models"])
def test_task_choices_are_the_same_everywhere(command) -> None:
    assert sorted(_option(_subparser(command), "--task").choices) == sorted(TASK_WEIGHTS)


@pytest.mark.parametrize("command", ["enhance", "export", "evaluate"])
def test_weights_option_is_the_same_everywhere(command) -> None:
    action = _option(_subparser(command), "--weights")
    assert action.default is None and action.metavar == "PATH|NAME"


def test_device_and_settings_options_where_they_belong() -> None:
    for command in ("enhance", "evaluate"):
        assert _option(_subparser(command), "--device").default == "auto"
    assert not any("--device" in a.option_strings for a in _subparser("export")._actions)
    for command in ("enhance", "export"):
        p = _subparser(command)
        assert _option(p, "--exposure").type is float and _option(p, "--denoise").type is float
    assert "bake in" in _option(_subparser("export"), "--exposure").help


def test_add_model_options_refuses_an_unknown_settings_kind() -> None:
    with pytest.raises(ValueError, match="'apply', 'bake' or None"):
        add_model_options(argparse.ArgumentParser(), settings="both")


def test_command_error_prints_one_line_and_returns_2(capsys) -> None:
    assert command_error("enhance")("no inputs") == 2
    assert capsys.readouterr().err == "pyisp-contrast enhance: error: no inputs\n"


def test_evaluate_refuses_a_max_side_below_one(tmp_path, capsys) -> None:
    assert main(["evaluate", "--low", str(tmp_path), "--max-side", "0"]) == 2
    assert (
        "pyisp-contrast evaluate: error: --max-side must be >= 1, got 0" in capsys.readouterr().err
    )
