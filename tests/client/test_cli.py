"""The `gatelearn` command line, run as a user runs it: in a subprocess, against a real server.

A few checks call `main` in-process instead, where a subprocess would only add start-up time.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest
from conftest import linear_model

from gatelearn.client import Client, GateLearnError
from gatelearn.client.cli import main
from gatelearn.client.cli.predict import CSV_BLOCK_ROWS
from gatelearn.server import ServerConfig, create_server
from gatelearn.server.app import RunningServer

CLI = [sys.executable, "-m", "gatelearn.client.cli"]
XOR_ROWS = ["0,0", "0,1", "1,0", "1,1"]
XOR_LABELS = [0.0, 1.0, 1.0, 0.0]

Result = subprocess.CompletedProcess[str]
Run = Callable[..., Result]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without gatelearn's variables, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GATELEARN_ADDRESS", "GATELEARN_DATA_DIR", "GATELEARN_AUTH_TOKEN")
    }
    env.update(extra)
    return env


def run(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    command: Sequence[str] = CLI,
) -> Result:
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        timeout=60,
    )


@pytest.fixture
def gatelearn(address: str) -> Run:
    """Runs the command line against the `server` fixture; checks success unless ok=False."""

    def call(*args: str, stdin: str | None = None, ok: bool = True) -> Result:
        result = run("--address", address, *args, stdin=stdin)
        if ok:
            assert result.returncode == 0, result.stderr
            assert result.stderr.count("Traceback") == 0
        return result

    return call


@pytest.fixture
def in_process(address: str, capsys: pytest.CaptureFixture[str]) -> Run:
    """Runs `main` in this process (faster, for the cases a subprocess adds nothing to)."""

    def call(*args: str, stdin: str | None = None, ok: bool = True) -> Result:
        assert stdin is None
        code = main(["--address", address, *args])
        out, err = capsys.readouterr()
        if ok:
            assert code == 0, err
        return subprocess.CompletedProcess(["gatelearn", *args], code, out, err)

    return call


@pytest.fixture
def xor_model(client: Client) -> str:
    """A trained xor model, named xor-demo."""
    client.train("xor-demo", "xor")
    return "xor-demo"


def assert_error(result: Result, code: str) -> None:
    """A failed call: exit 1 and one line on stderr naming the status code, no traceback."""
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gatelearn: error: {code}: "), lines[0]


def predicted(stdout: str) -> list[tuple[list[float], list[float], list[float]]]:
    """(inputs, outputs, labels) of each `0 1  ->  0.7581  (1)` line."""
    rows = []
    for line in stdout.splitlines():
        match = re.fullmatch(r"(.+?)\s+->\s+(.+?)\s+\((.+)\)", line)
        assert match, line
        rows.append(tuple([float(v) for v in group.split()] for group in match.groups()))
    return rows  # type: ignore[return-value]


def labels(stdout: str) -> list[float]:
    return [label for _, _, (label,) in predicted(stdout)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    """The lines `stream` yields, read on a thread so the test can wait with a deadline."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        with contextlib.suppress(ValueError):  # the test closed the stream: nothing more to read
            for line in stream:
                lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


# ---------------------------------------------------------------- train and use a model


def test_train_xor_then_predict(gatelearn: Run) -> None:
    trained = gatelearn("train", "xor", "--name", "xor-demo")
    line = trained.stdout.strip()
    assert re.fullmatch(
        r"saved xor-demo:1  solved at epoch \d+ \(stop: solved\)  loss \S+  "
        r"accuracy 1\.00  min margin \S+",
        line,
    ), line

    result = gatelearn("predict", "xor-demo", *XOR_ROWS)
    rows = predicted(result.stdout)
    assert [inputs for inputs, _, _ in rows] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert labels(result.stdout) == XOR_LABELS
    assert all((out[0] > 0.5) == (label[0] == 1) for _, out, label in rows)


def test_json_output_parses(gatelearn: Run) -> None:
    outcome = json.loads(gatelearn("--json", "train", "xor", "--name", "j").stdout)
    assert outcome["model"] == {"name": "j", "version": 1}
    assert outcome["metrics"]["solved"] is True
    assert outcome["stop_reason"] == "solved"

    # --json is accepted after the command too
    prediction = json.loads(gatelearn("predict", "j:1", *XOR_ROWS, "--json").stdout)
    assert [row[0] for row in prediction["labels"]] == XOR_LABELS
    assert prediction["inputs"] == [[0, 0], [0, 1], [1, 0], [1, 1]]

    models = json.loads(gatelearn("--json", "models").stdout)
    assert [(m["name"], m["version"], m["task"]) for m in models] == [("j", 1, "xor")]
    assert models[0]["created_at"].endswith("+00:00")  # an ISO 8601 datetime


def test_train_with_settings_is_recorded(gatelearn: Run) -> None:
    gatelearn(
        "train",
        "parity",
        "-p",
        "n=3",
        "--name",
        "p3",
        "--hidden",
        "8,8",
        "--lr",
        "0.1",
        "--activation",
        "tanh",
        "--activation",
        "leaky_relu:alpha=0.1",
        "--activation",
        "sigmoid",
        "--epochs",
        "3000",
        "--seed",
        "7",
        "--quiet",
    )
    detail = json.loads(gatelearn("--json", "show", "p3").stdout)
    assert detail["summary"]["sizes"] == [3, 8, 8, 1]
    assert detail["activations"] == ["tanh", "leaky_relu", "sigmoid"]
    request = detail["request"]
    assert request["task"] == {"name": "parity", "params": {"n": 3}}
    assert request["optimizer"] == {"params": {"lr": 0.1}}  # to the default optimizer
    assert request["options"]["epochs"] == 3000
    assert request["seed"] == "7"  # uint64 in proto JSON
    recipe = detail["recipe"]  # every setting used, defaults filled in
    assert recipe["optimizer"] == {
        "name": "adam",
        "params": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    }
    assert recipe["activations"][1] == {"name": "leaky_relu", "params": {"alpha": 0.1}}
    assert (recipe["options"]["epochs"], recipe["seed"]) == (3000, 7)


def test_train_on_a_csv_table(gatelearn: Run, tmp_path: Path) -> None:
    half_adder = "# a, b, sum, carry\n0,0,0,0\n0,1,1,0\n\n1,0,1,0\n1,1,0,1\n"
    (tmp_path / "ha.csv").write_text(half_adder)
    gatelearn(
        "train", "--table", str(tmp_path / "ha.csv"), "--outputs", "2", "--name", "ha", "--quiet"
    )
    result = gatelearn("predict", "ha", "1,1", "0,1")
    assert [label for _, _, label in predicted(result.stdout)] == [[0, 1], [1, 0]]

    # from stdin, with TASK spelled out
    gatelearn("train", "table", "--table", "-", "--name", "not", "--quiet", stdin="0,1\n1,0\n")
    assert labels(gatelearn("predict", "not", "0", "1").stdout) == [1, 0]


# ---------------------------------------------------------------- predict and eval inputs


def test_predict_rows_from_stdin_and_csv(gatelearn: Run, xor_model: str, tmp_path: Path) -> None:
    from_stdin = gatelearn("predict", xor_model, stdin="0,0\n0,1\n# a comment\n\n1,0\n1,1\n")
    assert labels(from_stdin.stdout) == XOR_LABELS

    (tmp_path / "rows.csv").write_text("1, 1\n0 ,1\n")
    from_file = gatelearn("predict", xor_model, "--csv", str(tmp_path / "rows.csv"))
    assert labels(from_file.stdout) == [0, 1]

    same = gatelearn("predict", xor_model, "--csv", "-", stdin="1,1\n0,1\n")
    assert same.stdout == from_file.stdout


def test_a_first_row_behind_a_byte_order_mark_is_kept(
    gatelearn: Run, xor_model: str, tmp_path: Path
) -> None:
    # Excel's "CSV UTF-8" starts with one; read as part of the first value, it made that row
    # a header: --data trained on 3 of these 4 rows and predict refused '\ufeff0'
    (tmp_path / "xor.csv").write_bytes("\ufeff0,0,0\n0,1,1\n1,0,1\n1,1,0\n".encode())
    gatelearn("train", "--data", str(tmp_path / "xor.csv"), "--name", "bom", "--quiet")
    assert len(json.loads(gatelearn("export", "bom").stdout)["data"]["inputs"]) == 4

    (tmp_path / "rows.csv").write_bytes("\ufeff0,1\n1,1\n".encode())
    predicted_rows = gatelearn("predict", xor_model, "--csv", str(tmp_path / "rows.csv"))
    assert labels(predicted_rows.stdout) == [1, 0]


def test_a_binary_input_file_is_an_error_naming_it(gatelearn: Run, tmp_path: Path) -> None:
    binary = tmp_path / "rows.csv"
    binary.write_bytes(bytes(range(128, 256)) * 8)
    for command in (["predict", "m", "--csv"], ["train", "--name", "m", "--data"]):
        result = gatelearn("--json", *command, str(binary), ok=False)
        assert result.returncode == 1, result.stderr
        error = json.loads(result.stderr)["error"]
        assert error["code"] is None
        assert error["message"].startswith(f"{binary}: not UTF-8 text"), error


def test_eval_on_own_task_and_on_csv(gatelearn: Run, xor_model: str) -> None:
    report = gatelearn("eval", xor_model).stdout
    assert "4/4 rows right" in report
    assert "accuracy 1.00" in report

    # a table with the first row's target flipped: the model gets 3 of 4 right
    wrong = json.loads(
        gatelearn(
            "--json", "eval", f"{xor_model}:1", "--csv", "-", stdin="0,0,1\n0,1,1\n1,0,1\n1,1,0\n"
        ).stdout
    )
    assert wrong["accuracy"] == 0.75
    assert [row["correct"] for row in wrong["rows"]] == [False, True, True, True]
    assert wrong["min_margin"] < 0


# ---------------------------------------------------------------- the store


def test_models_show_delete(gatelearn: Run, in_process: Run, client: Client) -> None:
    for _ in range(2):
        client.train("gate", "and")
    client.train("other", "xor")

    latest = gatelearn("models").stdout.splitlines()
    assert latest[0].split()[:3] == ["MODEL", "TASK", "SIZES"]
    assert [line.split()[0] for line in latest[1:]] == ["gate:2", "other:1"]
    versions = in_process("models", "gate").stdout.splitlines()[1:]
    assert [line.split()[0] for line in versions] == ["gate:1", "gate:2"]

    shown = gatelearn("show", "gate:1").stdout
    assert "gate:1" in shown
    assert "2 -> 8 -> 1" in shown
    assert "tanh, sigmoid" in shown
    assert re.search(r"^  task +and$", shown, re.MULTILINE)  # the recipe it trained with
    adam = r"^  optimizer +adam beta1=0.9 beta2=0.999 eps=1e-08 lr=0.05$"
    assert re.search(adam, shown, re.MULTILINE)

    assert gatelearn("delete", "gate:1").stdout.strip() == "deleted gate:1"
    assert [m.version for m in client.models("gate")] == [2]
    assert json.loads(in_process("--json", "delete", "gate", "--yes").stdout) == {
        "name": "gate",
        "deleted_versions": [2],
    }
    assert_error(in_process("show", "gate", ok=False), "NOT_FOUND")
    assert_error(in_process("models", "gate", ok=False), "NOT_FOUND")


def test_alias_set_move_use_and_delete(gatelearn: Run, in_process: Run, client: Client) -> None:
    for bias in (0.1, 0.2):
        client.import_model("lin", linear_model(bias))
    assert gatelearn("alias", "lin", "stable", "1").stdout == "lin@stable -> lin:1\n"
    assert in_process("alias", "lin", "stable", "2").stdout == "lin@stable -> lin:2 (was lin:1)\n"
    assert predicted(gatelearn("predict", "lin@stable", "0,0").stdout) == [([0, 0], [0.2], [0])]
    shown = in_process("show", "lin@stable").stdout.splitlines()
    assert shown[:2] == ["model        lin:2", "aliases      stable"]
    listed = in_process("models", "lin").stdout.splitlines()
    assert listed[0].split()[-1] == "ALIASES"
    assert [(line.split()[0], line.endswith("  stable")) for line in listed[1:]] == [
        ("lin:1", False),
        ("lin:2", True),
    ]
    failed = in_process("delete", "lin:2", ok=False)
    assert_error(failed, "FAILED_PRECONDITION")
    assert "alias 'stable' (version 2)" in failed.stderr
    assert json.loads(in_process("--json", "alias", "lin", "stable", "--delete").stdout) == {
        "name": "lin",
        "alias": "stable",
        "version": 2,
    }
    assert_error(in_process("predict", "lin@stable", "0,0", ok=False), "NOT_FOUND")
    assert_error(in_process("alias", "lin", "bad alias", "1", ok=False), "INVALID_ARGUMENT")


def test_plugins_and_tasks_list_the_builtins(gatelearn: Run) -> None:
    listing = gatelearn("plugins").stdout
    for kind in ("activation", "loss", "optimizer", "initializer", "task"):
        assert re.search(rf"^{kind} \(\d+\)$", listing, re.MULTILINE), kind
    for name in (
        "sigmoid",
        "tanh",
        "bce",
        "mse",
        "adam",
        "momentum",
        "xavier",
        "explicit",
        "xor",
        "parity",
        "table",
    ):
        assert re.search(rf"^  {name} ", listing, re.MULTILINE), name
    assert re.search(r"^\s+lr\s+float\s+= 0\.01\s+\[0, 1000\]", listing, re.MULTILINE)

    optimizers = json.loads(gatelearn("--json", "plugins", "--kind", "optimizer").stdout)
    assert {c["kind"] for c in optimizers} == {"optimizer"}
    adam = next(c for c in optimizers if c["name"] == "adam")
    assert adam["plugin"] == "gatelearn.plugins.builtin.optimizers"
    assert [p["name"] for p in adam["params"]][:1] == ["lr"]

    tasks = gatelearn("tasks").stdout.splitlines()
    names = [line.split()[0] for line in tasks[1:]]
    assert {"and", "or", "xor", "parity", "majority", "full_adder", "region", "table"} <= set(names)
    assert any(line.split()[:2] == ["parity", "n=3"] for line in tasks)


def test_export_then_import_predicts_identically(
    gatelearn: Run, xor_model: str, client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "xor.json"
    assert (
        gatelearn("export", xor_model, "-o", str(target)).stdout.strip()
        == f"exported {xor_model}:1 to {target}"
    )
    exported = json.loads(target.read_text())
    assert exported["name"] == xor_model
    assert exported["task"] == {"name": "xor"}

    assert gatelearn("import", "copy", str(target)).stdout.strip() == "imported copy:1"
    to_stdout = gatelearn("export", xor_model).stdout
    assert json.loads(to_stdout) == exported
    assert json.loads(gatelearn("--json", "import", "copy", "-", stdin=to_stdout).stdout) == {
        "name": "copy",
        "version": 2,
    }

    original = gatelearn("predict", xor_model, *XOR_ROWS).stdout
    assert gatelearn("predict", "copy:2", *XOR_ROWS).stdout == original
    rows = [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert (
        client.predict("copy", rows, version=1).outputs == client.predict(xor_model, rows).outputs
    )


# ---------------------------------------------------------------- errors


def test_failed_calls_print_one_line(gatelearn: Run, xor_model: str) -> None:
    unknown = gatelearn("predict", "nope", "0,1", ok=False)
    assert_error(unknown, "NOT_FOUND")
    assert "model 'nope'" in unknown.stderr
    assert_error(gatelearn("predict", xor_model, "0,1,1", ok=False), "INVALID_ARGUMENT")


def test_more_failures_print_one_line(in_process: Run, tmp_path: Path) -> None:
    assert_error(
        in_process("train", "no-such-task", "--name", "x", "--quiet", ok=False), "NOT_FOUND"
    )
    assert_error(
        in_process("train", "xor", "--name", "x", "--opt", "lr=5000", "--quiet", ok=False),
        "INVALID_ARGUMENT",
    )
    assert_error(in_process("eval", "nope", ok=False), "NOT_FOUND")
    (tmp_path / "bad.json").write_text("{not json")
    bad_file = in_process("import", "x", str(tmp_path / "bad.json"), ok=False)
    assert bad_file.returncode == 1
    assert bad_file.stderr.startswith(f"gatelearn: error: {tmp_path / 'bad.json'}: not valid")
    missing = in_process("predict", "x", "--csv", str(tmp_path / "missing.csv"), ok=False)
    assert missing.returncode == 1
    assert "No such file" in missing.stderr
    (tmp_path / "words.csv").write_text("0,1\n1,one\n")
    words = in_process("predict", "x", "--csv", str(tmp_path / "words.csv"), ok=False)
    assert words.stderr == f"gatelearn: error: {tmp_path / 'words.csv'}:2: 'one' is not a number\n"


def test_usage_error_in_a_subprocess(gatelearn: Run) -> None:
    result = gatelearn("train", "xor", ok=False)  # no --name
    assert result.returncode == 2
    assert result.stderr.startswith("usage: gatelearn train")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "m", "a,b"],  # not a number
        ["predict", "m:zero", "0,1"],  # not a version
        ["predict", "m@", "0,1"],  # no alias
        ["alias", "m", "stable"],  # neither VERSION nor --delete
        ["alias", "m", "stable", "1", "--delete"],  # both
        ["alias", "m", "stable", "0"],
        ["train", "xor", "--table", "-", "--name", "x"],  # TASK and --table disagree
        ["train", "xor", "--name", "x", "--outputs", "2"],  # --outputs without --table
        ["train", "xor", "--name", "x", "--hidden", "8,0"],
        ["train", "xor", "--name", "x", "-p", "n"],  # not key=value
        ["train", "--from", "m", "--name", "x", "-p", "n=3"],  # -p without its TASK
        ["train", "xor", "--name", "x", "--dtype", "float16"],
        ["predict", "m", "0,1", "--csv", "-"],  # rows twice
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # caught before any call, so no server is needed
    assert main(["--address", f"127.0.0.1:{free_port()}", *args]) == 2
    err = capsys.readouterr().err
    assert "usage: gatelearn" in err
    assert "error: " in err.splitlines()[-1]


def test_unreachable_server_says_so() -> None:
    address = f"127.0.0.1:{free_port()}"
    result = run("--address", address, "tasks")
    assert_error(result, "UNAVAILABLE")
    assert f"is the server running at {address}?" in result.stderr


def test_help_and_no_numpy() -> None:
    result = run("train", "--help")
    assert result.returncode == 0
    assert "--table CSV" in result.stdout
    probe = (
        "import sys, gatelearn.client.cli as cli; cli.build_parser(); "
        "sys.exit('numpy' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0


def test_cli_imports_neither_server_nor_core() -> None:
    """The client depends on the API only; `serve` alone imports the server, when it runs."""
    probe = (
        "import sys, gatelearn.client.cli as cli; cli.build_parser(); "
        "sys.exit(sorted(m for m in sys.modules if m.startswith(('gatelearn.server', "
        "'gatelearn.core', 'gatelearn.plugins'))) or None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- environment


def test_address_from_environment(address: str) -> None:
    assert "xor" in run("tasks", env=clean_env(GATELEARN_ADDRESS=address)).stdout
    # the flag wins over the environment
    dead = f"127.0.0.1:{free_port()}"
    assert run("--address", address, "tasks", env=clean_env(GATELEARN_ADDRESS=dead)).returncode == 0
    assert_error(run("tasks", env=clean_env(GATELEARN_ADDRESS=dead)), "UNAVAILABLE")


def test_installed_script(address: str) -> None:
    script = Path(sys.executable).with_name("gatelearn")
    if not script.exists():
        script = Path(shutil.which("gatelearn") or "")
    if not script.is_file():
        pytest.skip("the gatelearn script is not installed")
    result = run("tasks", command=[str(script)], env=clean_env(GATELEARN_ADDRESS=address))
    assert result.returncode == 0, result.stderr
    assert "xor" in result.stdout


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RunningServer]:
    """A server that wants a bearer token, and TLS when openssl can make it a certificate."""
    cert = key = None
    if shutil.which("openssl"):
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    running = create_server(
        ServerConfig(
            address="127.0.0.1:0",
            data_dir=tmp_path / "data",
            auth_token="s3cret",
            tls_cert=cert,
            tls_key=key,
        )
    )
    yield running
    running.stop(0)


def test_token_and_tls(
    guarded: RunningServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("GATELEARN_AUTH_TOKEN", raising=False)
    tls = ["--tls-ca", str(tmp_path / "cert.pem")] if (tmp_path / "cert.pem").exists() else []
    address = ["--address", f"127.0.0.1:{guarded.port}", *tls]

    assert main([*address, "tasks"]) == 1
    assert capsys.readouterr().err.startswith("gatelearn: error: UNAUTHENTICATED: ")
    assert main([*address, "--auth-token", "s3cret", "tasks"]) == 0
    assert "xor" in capsys.readouterr().out
    # the token from the environment, in a subprocess as a user would
    result = run(*address, "tasks", env=clean_env(GATELEARN_AUTH_TOKEN="s3cret"))
    assert result.returncode == 0, result.stderr
    if tls:
        assert (
            main(["--address", f"127.0.0.1:{guarded.port}", "--auth-token", "s3cret", "tasks"]) == 1
        )  # plain text to a TLS server
        assert capsys.readouterr().err.startswith("gatelearn: error: UNAVAILABLE: ")


# ---------------------------------------------------------------- long-running commands


def predicting_a_block(address: str, model: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """`gatelearn predict MODEL --csv -` sent a block of `0,1` rows, its input left open, once
    the block's first answer (label 1) is out; and the queue of its output lines."""
    predicting = subprocess.Popen(
        [*CLI, "--address", address, "predict", model, "--csv", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert predicting.stdin is not None and predicting.stdout is not None
        predicting.stdin.write("0,1\n" * CSV_BLOCK_ROWS)
        predicting.stdin.flush()
        answered = lines_of(predicting.stdout)
        assert labels(answered.get(timeout=60)) == [1]
    except BaseException:
        predicting.kill()
        raise
    return predicting, answered


def test_predict_csv_answers_a_block_of_rows_while_more_are_to_come(
    address: str, xor_model: str
) -> None:
    """Rows are read, answered and printed a block at a time: the whole input used to be read
    first (a 2-million-row file held 1.3 GB), so rows piped in without end got no answer."""
    predicting, answered = predicting_a_block(address, xor_model)  # input still open
    try:
        assert predicting.stdin is not None
        predicting.stdin.write("1,1\n")
        predicting.stdin.close()
        assert predicting.wait(timeout=60) == 0
    finally:
        predicting.kill()
    rest = [answered.get(timeout=10) for _ in range(CSV_BLOCK_ROWS)]
    assert labels("".join(rest)) == [1] * (CSV_BLOCK_ROWS - 1) + [0]


def test_predict_csv_answers_every_block_with_one_version_and_names_a_bad_row_in_the_input(
    gatelearn: Run, address: str, xor_model: str, tmp_path: Path
) -> None:
    """Each block was its own call, so a version saved while rows were still coming answered
    the rest; and a bad row in a later block was named by its row within that block."""
    with Client(address) as client:
        flipped = client.export_model(xor_model)
        client.import_model("pinned", flipped)
        for part in ("weights", "bias"):  # the output layer negated: every label flipped
            values = flipped["layers"][-1][part]["values"]
            flipped["layers"][-1][part]["values"] = [-v for v in values]
        predicting, answered = predicting_a_block(address, "pinned")
        try:
            assert predicting.stdin is not None
            client.import_model("pinned", flipped)  # a new latest version, labels flipped
            predicting.stdin.write("0,1\n")
            predicting.stdin.close()
            assert predicting.wait(timeout=60) == 0
        finally:
            predicting.kill()
        assert client.predict("pinned", [[0, 1]]).labels == [[0.0]]  # the new version's
    rest = [answered.get(timeout=10) for _ in range(CSV_BLOCK_ROWS)]
    assert labels(rest[-1]) == [1]  # the version the input began with

    rows = tmp_path / "rows.csv"
    rows.write_text("0,1\n" * (CSV_BLOCK_ROWS + 5) + "nan,1\n")
    bad = gatelearn("predict", xor_model, "--csv", str(rows), ok=False)
    assert f"rows[{CSV_BLOCK_ROWS}:{CSV_BLOCK_ROWS + 6}] of the input: " in bad.stderr


def test_ctrl_c_cancels_training(gatelearn: Run, address: str) -> None:
    training = subprocess.Popen(
        [
            *CLI,
            "--address",
            address,
            "train",
            "xor",
            "--name",
            "long",
            "--epochs",
            "1000000",
            "--no-stop-when-solved",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert training.stderr is not None
        first = lines_of(training.stderr).get(timeout=20)  # the first progress line
        assert first.startswith("epoch "), first
        training.send_signal(signal.SIGINT)
        out, _ = training.communicate(timeout=10)
    finally:
        training.kill()
        training.wait()
    assert training.returncode == 130
    assert out == ""
    assert_error(gatelearn("models", "long", ok=False), "NOT_FOUND")


@pytest.mark.parametrize("configure", ["flags", "environment"])
def test_serve_answers_and_stops_on_sigterm(tmp_path: Path, configure: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    data_dir = tmp_path / "served"
    if configure == "flags":
        args, env = ["--address", address, "--data-dir", str(data_dir)], clean_env()
    else:
        args = []
        env = clean_env(GATELEARN_ADDRESS=address, GATELEARN_DATA_DIR=str(data_dir))
    serving = subprocess.Popen(
        [*CLI, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 20
        with Client(address, timeout=1) as probe:
            while True:
                assert serving.poll() is None, serving.communicate()
                try:
                    probe.tasks()
                    break
                except GateLearnError:
                    assert time.monotonic() < deadline, "the server never answered"
                    time.sleep(0.05)

        tasks = run("--address", address, "tasks")
        assert tasks.returncode == 0, tasks.stderr
        assert "xor" in tasks.stdout
        assert run("--address", address, "train", "and", "--name", "a", "--quiet").returncode == 0
        assert any(data_dir.iterdir())  # the store is where it was told to be

        started = time.monotonic()
        serving.send_signal(signal.SIGTERM)
        out, err = serving.communicate(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        serving.kill()
        serving.wait()
    assert serving.returncode == 0, err
    assert f"serving on {address}" in out
    assert "Traceback" not in err
