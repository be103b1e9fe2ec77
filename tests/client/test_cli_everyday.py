"""The command line and the client as a daily tool (issue 14): one meaning for every word,
errors that teach, no surprises. Through `main` in-process or a subprocess, against a real
server."""

from __future__ import annotations

import json

from test_cli import Run, assert_error, gatelearn, in_process  # noqa: F401  (fixtures)

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
