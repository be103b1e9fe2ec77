"""The command line and the client as a daily tool (issue 14): one meaning for every word,
errors that teach, no surprises. Through `main` in-process or a subprocess, against a real
server."""

# ruff: noqa: F811  (the fixtures imported from test_cli are named as the tests' arguments)
from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from conftest import start_server
from test_cli import (  # noqa: F401  (fixtures)
    CLI,
    Run,
    assert_error,
    clean_env,
    free_port,
    gatelearn,
    in_process,
    lines_of,
    run,
)

from gatelearn.client import Client, TrainOptions
from gatelearn.client.cli import _output as show
from gatelearn.client.cli import main
from gatelearn.client.cli._progress import render
from gatelearn.client.types import Progress
from gatelearn.plugins import load_registry

# ---------------------------------------------------------------- "solved" means one thing


def test_solved_is_the_requested_margin_in_every_field(in_process: Run) -> None:
    # 10 epochs of XOR: every row right, but no output 0.25 past the threshold yet.
    short = json.loads(
        in_process("train", "xor", "--name", "short", "--epochs", "10", "--quiet", "--json").stdout
    )
    assert short["metrics"]["accuracy"] == 1.0
    assert 0 < short["metrics"]["min_margin"] < 0.25
    assert short["metrics"]["solved"] is False and short["solved_members"] == 0
    assert (
        "not solved after 10 epochs"
        in in_process("train", "xor", "--name", "short", "--epochs", "10", "--quiet").stdout
    )
    listed = json.loads(in_process("models", "short", "--json").stdout)
    assert [m["metrics"]["solved"] for m in listed] == [False, False]
    assert in_process("models", "short").stdout.splitlines()[1].split()[-1] == "no"

    # A population stopped part-way: solved_members counts the members with a solved epoch.
    done = json.loads(
        in_process(
            "train",
            "xor",
            "--name",
            "pop",
            "--population",
            "50",
            "--epochs",
            "25",
            "--quiet",
            "--json",
        ).stdout
    )
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


@pytest.fixture
def near(in_process: Run, tmp_path: Path) -> str:
    """An imported model right on 255 of its task's 256 rows: y = x, every label 1, the last
    row's x -1."""
    inputs = [[float(x)] for x in range(1, 256)] + [[-1.0]]
    model = {
        "layers": [
            {
                "weights": {"shape": [1, 1], "values": [1]},
                "bias": {"shape": [1], "values": [0]},
                "activation": {"name": "linear"},
            }
        ],
        "task": {"name": "data", "params": {"inputs": inputs, "targets": [[1.0]] * 256}},
        "low": 0,
        "high": 1,
    }
    (tmp_path / "near.json").write_text(json.dumps(model))
    in_process("import", "near", str(tmp_path / "near.json"))
    return "near"


def test_one_wrong_row_in_256_is_never_shown_as_accuracy_1(in_process: Run, near: str) -> None:
    assert (
        "255/256 rows right  accuracy 0.996  min margin -1.5" in in_process("eval", "near").stdout
    )
    assert in_process("models").stdout.splitlines()[1].split()[-4:] == [
        "2.146e+04",
        "0.996",
        "-1.5",
        "no",
    ]
    assert "accuracy 0.996" in in_process("show", "near").stdout


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.00"),
        (0.0, "0.00"),
        (0.75, "0.75"),
        (255 / 256, "0.996"),
        (4095 / 4096, "0.9998"),
        (1 / 512, "0.002"),
        (0.999999, "0.999999"),
    ],
)
def test_a_share_keeps_the_digits_that_tell_it_from_1_and_0(value: float, text: str) -> None:
    assert show.share(value) == text


def test_kept_member_is_the_one_with_most_rows_right(in_process: Run) -> None:
    # XOR cannot be solved with one hidden unit; some of 200 members end with every output on
    # the threshold (margin 0, no row right): the kept one must be a 3-of-4 member instead.
    done = json.loads(
        in_process(
            "train",
            "xor",
            "--name",
            "one",
            "--hidden",
            "1",
            "--population",
            "200",
            "--epochs",
            "2000",
            "--quiet",
            "--json",
        ).stdout
    )
    assert done["metrics"]["accuracy"] == 0.75
    assert done["metrics"]["min_margin"] < 0


def test_a_margin_of_zero_reads_as_an_output_on_the_threshold() -> None:
    assert show.margin_text(-0.0) == show.margin_text(0.0) == "0 (an output on the threshold)"
    assert show.margin_text(-0.1634) == "-0.163"


def test_the_progress_line_keeps_the_digits_too() -> None:
    line = render(
        Progress(epoch=10, epochs=100, loss=0.5, accuracy=255 / 256, solved_members=0, population=1)
    )
    assert line.endswith("  10%  loss 0.5  accuracy 0.996")


# ---------------------------------------------------------------- typos caught and explained


def test_a_misspelt_option_shows_the_commands_usage_and_the_closest_flag(in_process: Run) -> None:
    typo = in_process("train", "xor", "--name", "t", "--hiden", "4", ok=False)
    assert typo.returncode == 2
    assert typo.stderr.startswith("usage: gatelearn train ")
    assert typo.stderr.strip().endswith(
        "gatelearn train: error: unrecognized arguments: --hiden 4 (did you mean --hidden?)"
    )
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
    in_process(
        "train",
        "xor",
        "--name",
        "relu",
        "--hidden",
        "4,4",
        "--activation",
        "relu",
        "--epochs",
        "5",
        "--quiet",
    )
    assert "2 -> 4 -> 4 -> 1  (relu, relu, sigmoid; with bias)" in in_process("show", "relu").stdout


def test_a_parameter_of_the_wrong_kind_is_named_in_json_terms(in_process: Run) -> None:
    for given, received in [
        ("null", "null"),
        ('"fast"', 'string "fast"'),
        ("[1]", "list"),
        ("{}", "object"),
        ("true", "bool true"),
    ]:
        wrong = in_process(
            "train", "xor", "--name", "t", "--opt", f"lr={given}", "--quiet", ok=False
        )
        assert_error(wrong, "INVALID_ARGUMENT")
        assert f"optimizer.lr: expected float, got {received}" in wrong.stderr


# ---------------------------------------------------------------- commands that finish the job


def test_tasks_previews_a_tasks_rows(in_process: Run) -> None:
    lines = in_process("tasks", "parity", "-p", "n=4", "--rows", "3").stdout.splitlines()
    assert lines[:9] == [
        "parity: 4 inputs -> 1 outputs, labels 0/1, 16 rows",
        "INPUTS   TARGETS",
        "0 0 0 0  0",
        "0 0 0 1  1",
        "0 0 1 0  1",
        "    ... (13 more rows; --rows N shows more)",
        "",
        "default recipe (a training that names only this task)",
        "  task         parity n=4",
    ]
    assert "  hidden       16" in lines  # resolved for this task
    preview = json.loads(in_process("tasks", "circle", "--json").stdout)
    assert preview["total_rows"] == 200 and len(preview["rows_inputs"]) == 16


def test_eval_shows_the_wrong_rows_or_the_first_few(in_process: Run, near: str) -> None:
    assert in_process("eval", "near", "--wrong").stdout.splitlines() == [
        "INPUTS  TARGETS  OUTPUTS  OK",
        "-1      1        -1.0000  NO",
        "near:1  255/256 rows right  accuracy 0.996  min margin -1.5",
    ]
    limited = in_process("eval", "near", "--limit", "2").stdout.splitlines()
    assert limited[3:] == [
        "    ... (254 more rows)",
        "near:1  255/256 rows right  accuracy 0.996  min margin -1.5",
    ]
    assert len(json.loads(in_process("eval", "near", "--limit", "2", "--json").stdout)["rows"]) == 2


def test_predict_csv_takes_more_rows_than_one_predict_call(
    in_process: Run, client: Client, tmp_path: Path
) -> None:
    client.train("xor", "xor")
    rows = [(i % 2, i // 2 % 2) for i in range(150_001)]  # max_predict_rows is 100,000
    (tmp_path / "rows.csv").write_text("".join(f"{a},{b}\n" for a, b in rows))
    lines = in_process("predict", "xor", "--csv", str(tmp_path / "rows.csv")).stdout.splitlines()
    assert len(lines) == len(rows)
    wrong = [
        row
        for line, row in zip(lines, rows, strict=True)
        if not line.endswith(f"({row[0] ^ row[1]})")
    ]
    assert wrong == []


def test_errors_with_json_are_json(in_process: Run) -> None:
    failed = in_process("--json", "show", "nosuch", ok=False)
    assert failed.returncode == 1 and failed.stdout == ""
    assert json.loads(failed.stderr) == {
        "error": {"code": "NOT_FOUND", "message": "model 'nosuch' not found"}
    }
    local = in_process("predict", "nosuch", "--csv", "/nonexistent.csv", "--json", ok=False)
    assert json.loads(local.stderr)["error"]["code"] is None


def test_models_of_an_unknown_name_fails(in_process: Run) -> None:
    assert_error(in_process("models", "nosuch", ok=False), "NOT_FOUND")
    assert in_process("models").stdout == "no models\n"


def test_deleting_every_version_asks_first(in_process: Run, client: Client, address: str) -> None:
    for _ in range(2):
        client.train("twice", "xor", options=TrainOptions(epochs=1))
    refused = in_process("delete", "twice", ok=False)  # stdin is not a terminal here
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    assert len(client.models("twice")) == 2
    for answer, left in (("n", 2), ("y", 0)):
        asked = on_a_terminal(["--address", address, "delete", "twice"], answer)
        assert "delete every version of twice (1, 2)? [y/N]" in asked
        assert len(client.models("twice")) == left
    client.train("twice", "xor", options=TrainOptions(epochs=1))
    assert in_process("delete", "twice", "--yes").stdout == "deleted twice:3\n"


def on_a_terminal(args: list[str], answer: str) -> str:
    """Run the command line with a pseudo-terminal as stdin and stderr, type `answer` when
    it asks, and return what it wrote to the terminal."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [*CLI, *args], stdin=follower, stderr=follower, stdout=subprocess.DEVNULL, env=clean_env()
    ) as process:
        os.close(follower)
        seen = b""
        while b"[y/N]" not in seen:
            ready, _, _ = select.select([leader], [], [], 30)
            assert ready, f"no question asked: {seen!r}"
            seen += os.read(leader, 1024)
        os.write(leader, f"{answer}\n".encode())
        process.wait(timeout=30)
    os.close(leader)
    return seen.decode()


def test_a_training_out_of_time_says_nothing_was_saved(in_process: Run) -> None:
    late = in_process(
        "train",
        "parity",
        "-p",
        "n=10",
        "--name",
        "late",
        "--hidden",
        "32",
        "--epochs",
        "1000000",
        "--no-stop-when-solved",  # rprop may solve parity-10 within the second: run on
        "--timeout",
        "1",
        "--quiet",
        ok=False,
    )
    assert_error(late, "DEADLINE_EXCEEDED")
    assert "nothing was saved" in late.stderr
    assert in_process("models").stdout == "no models\n"


def test_an_unsolved_training_exits_3_with_require_solved(in_process: Run) -> None:
    unsolved = in_process(
        "train", "xor", "--name", "u", "--epochs", "3", "--quiet", "--require-solved", ok=False
    )
    assert unsolved.returncode == 3
    assert "not solved after 3 epochs" in unsolved.stdout
    assert unsolved.stderr == "gatelearn: u:1 is saved but not solved\n"
    assert in_process("train", "xor", "--name", "s", "--quiet", "--require-solved").returncode == 0


def test_a_second_server_on_a_used_port_says_so_in_one_line(address: str, tmp_path: Path) -> None:
    second = run("serve", "--address", address, "--data-dir", str(tmp_path / "second"))
    assert second.returncode == 1
    assert second.stderr == (
        f"gatelearn: error: cannot start the server: {address} is already "
        "in use (another server listens there; pick another --address)\n"
    )


# ---------------------------------------------------------------- docs that match

PLUGIN_MODULE = """
import numpy as np
from gatelearn.core import Activation
from gatelearn.plugins import hookimpl


class Softsign(Activation):
    name = "softsign"
    description = "z / (1 + |z|)"

    def forward(self, z, out):
        np.divide(z, 1.0 + np.abs(z), out=out)

    def derivative(self, z, a, out):
        np.divide(1.0, np.square(1.0 + np.abs(z)), out=out)


@hookimpl
def gatelearn_activations():
    return [Softsign]
"""


def test_serve_lists_its_plugins_with_their_own_versions(tmp_path: Path) -> None:
    (tmp_path / "unversioned_plugin.py").write_text(PLUGIN_MODULE)
    address = f"127.0.0.1:{free_port()}"
    env = clean_env(PYTHONPATH=str(tmp_path))
    serving = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--address",
            address,
            "--data-dir",
            str(tmp_path / "data"),
            "--plugin",
            "unversioned_plugin",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert serving.stdout is not None
        lines = lines_of(serving.stdout)
        said = [lines.get(timeout=30) for _ in range(3)]
        listed = run("--address", address, "plugins", "--kind", "activation", "--json", env=env)
    finally:
        serving.send_signal(signal.SIGTERM)
        serving.communicate(timeout=15)
    assert said[0].startswith(f"gatelearn serving on {address}")
    assert said[1].startswith("built-in plugins: 9, ")
    assert said[2] == "plugin unversioned_plugin unknown: activation softsign\n"
    (softsign,) = [c for c in json.loads(listed.stdout) if c["name"] == "softsign"]
    assert softsign["version"] == "unknown"  # not gatelearn's: the module says none


def test_a_plugin_module_reports_its_own_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "versioned_plugin.py").write_text('__version__ = "2.5.0"\n' + PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(("versioned_plugin",))
    assert registry.entry("activation", "softsign").version == "2.5.0"
    assert registry.entry("activation", "tanh").version == metadata.version("gatelearn")


def test_the_tours_perceptron_file_is_shipped(in_process: Run) -> None:
    shipped = Path(__file__).parents[2] / "examples" / "perceptron.json"
    assert in_process("import", "perceptron", str(shipped)).stdout == "imported perceptron:1\n"
    assert in_process("predict", "perceptron", "2,0", "0,0").stdout.splitlines() == [
        "2 0  ->  1.0000  (1)",
        "0 0  ->  -1.0000  (-1)",
    ]
    tail = in_process("eval", "perceptron").stdout.splitlines()[-1]
    assert tail == "perceptron:1  200/200 rows right  accuracy 1.00  min margin 1"


def test_list_plugins_order_is_the_documented_one(client: Client) -> None:
    components = client.plugins()
    kinds = list(dict.fromkeys(c.kind for c in components))
    assert kinds == ["activation", "loss", "optimizer", "initializer", "task"]
    for kind in kinds:
        names = [c.name for c in components if c.kind == kind]
        assert names == sorted(names)


# ---------------------------------------------------------------- plugins, the datasette way

GATE_TOO = """
from gatelearn.core import Gate


class Mux(Gate):
    name = "mux"
    description = "2:1 multiplexer: a if select is 0, else b"
    arity = 3

    def evaluate(self, bits):
        select, a, b = bits.T
        return np.where(select == 0, a, b)


@hookimpl
def gatelearn_tasks():
    return [Mux]
"""


def test_plugins_lists_each_plugin_once_with_version_and_hooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "two_hooks_plugin.py").write_text(
        '__version__ = "1.2.3"\n' + PLUGIN_MODULE + GATE_TOO
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    running = start_server(tmp_path / "data", plugins=("two_hooks_plugin",))
    try:
        address = f"127.0.0.1:{running.port}"
        assert main(["--address", address, "plugins", "--plugins"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert main(["--address", address, "plugins", "--plugins", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
    finally:
        running.stop(0)
    assert lines[0].split() == ["PLUGIN", "VERSION", "COMPONENTS", "HOOKS"]
    assert ["two_hooks_plugin", "1.2.3", "2", "gatelearn_activations,", "gatelearn_tasks"] in [
        line.split() for line in lines
    ]
    names = [p["name"] for p in listed]
    assert names == sorted(set(names))  # each plugin once
    (mine,) = [p for p in listed if p["name"] == "two_hooks_plugin"]
    assert mine == {
        "name": "two_hooks_plugin",
        "version": "1.2.3",
        "components": 2,
        "hooks": ["gatelearn_activations", "gatelearn_tasks"],
    }
    (gates,) = [p for p in listed if p["name"] == "gatelearn.plugins.builtin.gates"]
    assert gates["hooks"] == ["gatelearn_tasks"] and gates["components"] > 1
