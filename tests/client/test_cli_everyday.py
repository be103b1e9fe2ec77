"""The command line and the client as a daily tool (issue 14): one meaning for every word,
errors that teach, no surprises. Through `main` in-process or a subprocess, against a real
server."""

# ruff: noqa: F811  (the fixtures imported from test_cli are named as the tests' arguments)
from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import Run, assert_error, gatelearn, in_process  # noqa: F401  (fixtures)

from gatelearn.client.cli import _output as show
from gatelearn.client.cli._progress import render
from gatelearn.client.types import Progress

# ---------------------------------------------------------------- "solved" means one thing


def test_solved_is_the_requested_margin_in_every_field(in_process: Run) -> None:
    # 10 epochs of XOR: every row right, but no output 0.25 past the threshold yet.
    short = json.loads(in_process("train", "xor", "--name", "short", "--epochs", "10",
                                  "--quiet", "--json").stdout)
    assert short["metrics"]["accuracy"] == 1.0
    assert 0 < short["metrics"]["min_margin"] < 0.25
    assert short["metrics"]["solved"] is False and short["solved_members"] == 0
    assert "not solved after 10 epochs" in in_process(
        "train", "xor", "--name", "short", "--epochs", "10", "--quiet").stdout
    listed = json.loads(in_process("models", "short", "--json").stdout)
    assert [m["metrics"]["solved"] for m in listed] == [False, False]
    assert in_process("models", "short").stdout.splitlines()[1].split()[-1] == "no"

    # A population stopped part-way: solved_members counts the members with a solved epoch.
    done = json.loads(in_process("train", "xor", "--name", "pop", "--population", "50",
                                 "--epochs", "25", "--quiet", "--json").stdout)
    solved_epochs = [e for e in done["member_solved_epochs"] if e >= 0]
    assert 0 < len(solved_epochs) < 50
    assert done["solved_members"] == len(solved_epochs)


def test_a_margin_no_label_reaches_is_refused(in_process: Run) -> None:
    refused = in_process("train", "xor", "--name", "far", "--margin", "0.6", "--quiet", ok=False)
    assert_error(refused, "INVALID_ARGUMENT")
    assert "options.margin" in refused.stderr and "0.5" in refused.stderr
    assert "no models" in in_process("models").stdout
    in_process("train", "xor", "--name", "edge", "--margin", "0.5", "--epochs", "5", "--quiet")


# ---------------------------------------------------------------- numbers that do not lie


def test_one_wrong_row_in_256_is_never_shown_as_accuracy_1(in_process: Run,
                                                           tmp_path: Path) -> None:
    # y = x with labels 1: every row right but x = -1.
    inputs = [[float(x)] for x in range(1, 256)] + [[-1.0]]
    model = {"layers": [{"weights": {"shape": [1, 1], "values": [1]},
                         "bias": {"shape": [1], "values": [0]},
                         "activation": {"name": "linear"}}],
             "task": {"name": "data", "params": {"inputs": inputs, "targets": [[1.0]] * 256}},
             "low": 0, "high": 1}
    (tmp_path / "near.json").write_text(json.dumps(model))
    in_process("import", "near", str(tmp_path / "near.json"))
    assert "255/256 rows right  accuracy 0.996  min margin -1.5" in in_process(
        "eval", "near").stdout
    assert in_process("models").stdout.splitlines()[1].split()[-4:] == [
        "2.146e+04", "0.996", "-1.5", "no"]
    assert "accuracy 0.996" in in_process("show", "near").stdout


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1.00"), (0.0, "0.00"), (0.75, "0.75"), (255 / 256, "0.996"),
    (4095 / 4096, "0.9998"), (1 / 512, "0.002"), (0.999999, "0.999999")])
def test_a_share_keeps_the_digits_that_tell_it_from_1_and_0(value: float, text: str) -> None:
    assert show.share(value) == text


def test_kept_member_is_the_one_with_most_rows_right(in_process: Run) -> None:
    # XOR cannot be solved with one hidden unit; some of 200 members end with every output on
    # the threshold (margin 0, no row right): the kept one must be a 3-of-4 member instead.
    done = json.loads(in_process("train", "xor", "--name", "one", "--hidden", "1",
                                 "--population", "200", "--epochs", "2000", "--quiet",
                                 "--json").stdout)
    assert done["metrics"]["accuracy"] == 0.75
    assert done["metrics"]["min_margin"] < 0


def test_a_margin_of_zero_reads_as_an_output_on_the_threshold() -> None:
    assert show.margin_text(-0.0) == show.margin_text(0.0) == "0 (an output on the threshold)"
    assert show.margin_text(-0.1634) == "-0.163"


def test_the_progress_line_keeps_the_digits_too() -> None:
    line = render(Progress(epoch=10, epochs=100, loss=0.5, accuracy=255 / 256,
                           solved_members=0, population=1))
    assert line.endswith("  10%  loss 0.5  accuracy 0.996")
