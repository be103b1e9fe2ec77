"""The command line and the client as a daily tool (issue 14): one meaning for every word,
errors that teach, no surprises. Through `main` in-process or a subprocess, against a real
server."""

# ruff: noqa: F811  (the fixtures imported from test_cli are named as the tests' arguments)
from __future__ import annotations

import json
import re
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


# ---------------------------------------------------------------- typos caught and explained


def test_a_misspelt_option_shows_the_commands_usage_and_the_closest_flag(in_process: Run
                                                                         ) -> None:
    typo = in_process("train", "xor", "--name", "t", "--hiden", "4", ok=False)
    assert typo.returncode == 2
    assert typo.stderr.startswith("usage: gatelearn train ")
    assert typo.stderr.strip().endswith(
        "gatelearn train: error: unrecognized arguments: --hiden 4 (did you mean --hidden?)")
    # No silent abbreviation: --epoch is not taken for --epochs.
    short = in_process("train", "xor", "--name", "t", "--epoch", "10", ok=False)
    assert short.returncode == 2 and "(did you mean --epochs?)" in short.stderr
    assert "no models" in in_process("models").stdout


def test_version(in_process: Run) -> None:
    assert re.fullmatch(r"gatelearn \d+\.\d+\S*\n", in_process("--version").stdout)


def test_an_unknown_activation_is_reported_before_the_count(in_process: Run) -> None:
    typo = in_process("train", "xor", "--name", "t", "--activation", "sigmod", ok=False)
    assert_error(typo, "INVALID_ARGUMENT")
    assert "activations[0]: unknown activation 'sigmod'" in typo.stderr


def test_one_activation_is_every_hidden_layers(in_process: Run) -> None:
    in_process("train", "xor", "--name", "relu", "--hidden", "4,4", "--activation", "relu",
               "--epochs", "5", "--quiet")
    assert "2 -> 4 -> 4 -> 1  (relu, relu, sigmoid; with bias)" in in_process(
        "show", "relu").stdout


def test_a_parameter_of_the_wrong_kind_is_named_in_json_terms(in_process: Run) -> None:
    for given, received in [("null", "null"), ('"fast"', 'string "fast"'), ("[1]", "list"),
                            ("{}", "object"), ("true", "bool true")]:
        wrong = in_process("train", "xor", "--name", "t", "--opt", f"lr={given}", "--quiet",
                           ok=False)
        assert_error(wrong, "INVALID_ARGUMENT")
        assert f"optimizer.lr: expected float, got {received}" in wrong.stderr
