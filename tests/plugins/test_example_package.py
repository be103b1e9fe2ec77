"""The example third-party plugin, installed for real and discovered through its entry point.

The package in examples/gatelearn-example is pip-installed into a directory of its own
(`pip install --target`) that is put on PYTHONPATH for this module's checks, never into the
environment the other tests share: with the tests in two processes, a server started by the
other one would have loaded it. Every check runs gatelearn in a fresh interpreter, so the
entry-point scan sees the installed distribution and the plugin environment variables are
exactly the ones a test sets.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from gatelearn.plugins import BLOCK_ENV, DEFAULT_PLUGINS, LOAD_ENV

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gatelearn-example"
DIST = "gatelearn-example"
PLUGIN = "example"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def example_version(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Install the example package (from a copy, so no build files land in the source tree)
    into a directory of its own, on PYTHONPATH while the module runs; give the version its
    pyproject declares."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.fail("installing the example plugin needs setuptools; add it to the test extra")
    source = tmp_path_factory.mktemp("example") / EXAMPLE.name
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__")
    )
    site = tmp_path_factory.mktemp("site")
    done = _pip(
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(site),
        str(source),
    )
    if done.returncode != 0:
        pytest.fail(f"pip install {EXAMPLE} failed:\n{done.stdout}\n{done.stderr}")
    with pytest.MonkeyPatch.context() as patch:
        path = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", os.pathsep.join([str(site), *([path] if path else [])]))
        yield tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["version"]


def _python(code: str, tmp_path: Path, **env: str) -> Any:
    """Run `code` in a fresh interpreter with only the plugin variables in `env`; return the
    JSON it prints."""
    environ = {k: v for k, v in os.environ.items() if k not in (LOAD_ENV, BLOCK_ENV)}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


LIST_ENTRIES = """
    import json
    from gatelearn.plugins import load_registry

    print(json.dumps([
        {"kind": e.kind, "name": e.name, "plugin": e.plugin, "version": e.version,
         "description": e.description, "module": e.component.__module__}
        for e in load_registry().entries()
    ]))
"""

TRAIN = """
    import json
    import numpy as np
    from gatelearn.plugins import load_registry
    from gatelearn.core import train
    from gatelearn.plugins.recipe import Choice, Recipe, prepare

    prepared = prepare(Recipe({recipe}), load_registry())
    result = train(prepared.network, prepared.data, prepared.loss, prepared.optimizer,
                   prepared.recipe.config)
    print(json.dumps({{
        "stop_reason": str(result.stop_reason),
        "accuracy": result.accuracy.tolist(),
        "inputs": prepared.data.inputs.tolist(),
        "targets": prepared.data.targets.tolist(),
        "predictions": result.network.predict(prepared.data.inputs)[..., 0].tolist(),
        "activations": [type(layer.activation).__name__ for layer in result.network.layers],
    }}))
"""


def _by_key(entries: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(e["kind"], e["name"]): e for e in entries}


def test_entry_point_is_discovered(example_version: str, tmp_path: Path) -> None:
    entries = _by_key(_python(LIST_ENTRIES, tmp_path))
    mux, softsign = entries["task", "mux"], entries["activation", "softsign"]
    for entry in (mux, softsign):
        assert entry["plugin"] == PLUGIN
        assert entry["version"] == example_version
        assert entry["description"] and "\n" not in entry["description"]
    # Imported from the installed distribution, not from the examples/ source tree.
    assert mux["module"] == "gatelearn_example.gates"
    assert softsign["module"] == "gatelearn_example.activations"
    location = _python(
        """
        import json, gatelearn_example
        print(json.dumps(gatelearn_example.__file__))
    """,
        tmp_path,
    )
    assert not Path(location).resolve().is_relative_to(EXAMPLE)


def test_mux_trains_with_the_default_recipe(example_version: str, tmp_path: Path) -> None:
    run = _python(TRAIN.format(recipe='task=Choice("mux")'), tmp_path)
    # The truth table itself: select, a, b with select most significant.
    assert run["inputs"] == [[s, a, b] for s in (0, 1) for a in (0, 1) for b in (0, 1)]
    assert [t for (t,) in run["targets"]] == [0, 0, 1, 1, 0, 1, 0, 1]
    assert run["stop_reason"] == "solved"
    assert run["accuracy"] == [1.0]
    assert [int(p > 0.5) for (p,) in run["predictions"]] == [0, 0, 1, 1, 0, 1, 0, 1]


def test_softsign_trains_xor_as_the_hidden_activation(example_version: str, tmp_path: Path) -> None:
    run = _python(TRAIN.format(recipe='task=Choice("xor"), hidden_activation="softsign"'), tmp_path)
    assert run["activations"] == ["Softsign", "Sigmoid"]
    assert run["stop_reason"] == "solved"
    assert run["accuracy"] == [1.0]
    assert [int(p > 0.5) for (p,) in run["predictions"]] == [0, 1, 1, 0]


def test_softsign_values_and_derivative(example_version: str, tmp_path: Path) -> None:
    worst = _python(
        """
        import json
        import numpy as np
        from gatelearn.plugins import load_registry

        softsign = load_registry().build("activation", "softsign")
        # An even count leaves out z = 0, where |z| has its kink and f'' jumps.
        z = np.linspace(-50.0, 50.0, 1000).reshape(10, 10, 10)
        a, d = np.empty_like(z), np.empty_like(z)
        softsign.forward(z, a)
        softsign.derivative(z, a, d)
        h = 1e-6
        up, down = np.empty_like(z), np.empty_like(z)
        softsign.forward(z + h, up)
        softsign.forward(z - h, down)
        print(json.dumps({
            "value": float(np.abs(a - z / (1 + np.abs(z))).max()),
            "derivative": float(np.abs(d - 1 / (1 + np.abs(z)) ** 2).max()),
            "finite_difference": float(np.abs(d - (up - down) / (2 * h)).max()),
        }))
    """,
        tmp_path,
    )
    assert worst["value"] < 1e-15
    assert worst["derivative"] < 1e-15
    assert worst["finite_difference"] < 1e-8


def test_blocking_the_plugin_hides_its_components(example_version: str, tmp_path: Path) -> None:
    entries = _python(LIST_ENTRIES, tmp_path, **{BLOCK_ENV: PLUGIN})
    assert not [e for e in entries if e["plugin"] == PLUGIN]
    names = {(e["kind"], e["name"]) for e in entries}
    assert ("task", "mux") not in names
    assert ("activation", "softsign") not in names
    assert {("task", "xor"), ("activation", "tanh")} <= names


def test_entries_credit_builtins_to_their_modules(example_version: str, tmp_path: Path) -> None:
    entries = _python(LIST_ENTRIES, tmp_path)
    builtins = [e for e in entries if e["plugin"] in DEFAULT_PLUGINS]
    assert {e["plugin"] for e in builtins} == set(DEFAULT_PLUGINS)
    for entry in builtins:
        assert entry["plugin"] == entry["module"], entry
        assert entry["version"] == metadata.version("gatelearn"), entry
    example = [e for e in entries if e["plugin"] == PLUGIN]
    assert {e["module"].partition(".")[0] for e in example} == {"gatelearn_example"}
