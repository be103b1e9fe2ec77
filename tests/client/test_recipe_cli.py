"""The defaults and the recipe through the command line, run as a user runs it."""

from __future__ import annotations

import json
import re

from test_cli import XOR_LABELS, XOR_ROWS, Run, gatelearn, labels  # noqa: F401  (the fixture)

from gatelearn.client import Client


def test_naming_the_default_optimizer_or_its_lr_trains_the_same_model(
    gatelearn: Run,  # noqa: F811
    client: Client,
) -> None:
    defaults = json.loads(gatelearn("--json", "plugins", "--default-recipe").stdout)
    lr = defaults["optimizer"]["params"]["lr"]
    runs = {
        "plain": [],
        "adam": ["--optimizer", "adam"],
        "lr": ["--opt", f"lr={lr}"],
        "beta1": ["--opt", "beta1=0.9"],
    }
    for name, flags in runs.items():
        line = gatelearn("train", "xor", "--name", name, "--quiet", *flags).stdout
        assert line.startswith(f"saved {name}:1  solved at epoch ")
    layers = {name: client.export_model(name)["layers"] for name in runs}
    assert all(layers[name] == layers["plain"] for name in runs), "a default changed the run"
    listing = gatelearn("plugins").stdout
    assert re.search(r"^default recipe ", listing, re.MULTILINE)
    assert re.search(rf"^  optimizer +adam .*lr={lr}$", listing, re.MULTILINE)


def test_show_reports_every_setting_and_the_history(gatelearn: Run) -> None:  # noqa: F811
    gatelearn(
        "train",
        "xor",
        "--name",
        "r",
        "--quiet",
        "--record-every",
        "3",
        "--epochs",
        "30",
        "--no-stop-when-solved",
        "--activation",
        "elu",
        "--activation",
        "sigmoid",
    )
    shown = gatelearn("show", "r").stdout
    assert re.search(r"^history +11 points, epochs 0 to 30$", shown, re.MULTILINE)
    assert re.search(r"^  activations +elu alpha=1, sigmoid$", shown, re.MULTILINE)
    assert re.search(r"^  options .*record_every=3", shown, re.MULTILINE)
    recipe = json.loads(gatelearn("--json", "show", "r").stdout)["recipe"]
    assert recipe["loss"] == {"name": "bce", "params": {"eps": 1e-12}}
    assert recipe["options"]["stop_when_solved"] is False


def test_train_help_restates_no_server_default(gatelearn: Run) -> None:  # noqa: F811
    # Without the example CSV rows of the data file format (h13-data), which are no defaults.
    text = re.sub(r"^ *[-\d.,]+$", "", gatelearn("train", "--help").stdout, flags=re.MULTILINE)
    for default in ("0.05", "5000", "0.25", "xavier", "bce", "(default: 8)", "tanh"):
        assert default not in text, default


def test_train_dtype_float32_is_recorded_and_served(
    gatelearn: Run,  # noqa: F811
    client: Client,
) -> None:
    line = gatelearn("train", "xor", "--name", "f32", "--dtype", "float32", "--quiet").stdout
    assert line.startswith("saved f32:1  solved at epoch ")
    shown = json.loads(gatelearn("--json", "show", "f32").stdout)
    assert (shown["dtype"], shown["recipe"]["dtype"]) == ("float32", "float32")
    assert labels(gatelearn("predict", "f32", *XOR_ROWS).stdout) == XOR_LABELS
    gatelearn("train", "xor", "--name", "f32", "--float32", "--seed", "1", "--quiet")
    assert client.model("f32").dtype == "float32"  # --float32 is the same choice


def test_float32_and_a_dtype_together_are_a_usage_error(gatelearn: Run) -> None:  # noqa: F811
    """`--float32 --dtype float64` used to train in float64 (the last flag won) without a word."""
    result = gatelearn("train", "xor", "--name", "d", "--float32", "--dtype", "float64", ok=False)
    assert result.returncode == 2
    assert "argument --dtype: not allowed with argument --float32" in result.stderr
    assert gatelearn("models").stdout.strip() == "no models"
