"""Pictures of stored models (`gatelearn.client.plots`, `gatelearn plot`), drawn from a real
server's answers, decoded and read back pixel by pixel."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import imread
from perceptron_support import PERCEPTRON

from gatelearn.client import Client
from gatelearn.client.cli import main
from gatelearn.client.plots import plot_loss, plot_network, plot_surface

PATCH = 2  # pixels each side of a point whose colour is read


@pytest.fixture
def xor(client: Client) -> Client:
    """A trained (solved) xor model, named xor."""
    assert client.train("xor", "xor").metrics.solved
    return client


@pytest.fixture
def perceptron(client: Client) -> Client:
    client.import_model("perceptron", PERCEPTRON)
    return client


def saved_png(figure: Any, path: Path) -> np.ndarray:
    """Save `figure` as a PNG, decode it, and check it has the figure's size in pixels."""
    figure.savefig(path)
    image = imread(path)
    width, height = figure.get_size_inches() * figure.dpi
    assert image.shape == (round(height), round(width), 4)
    return image


def blueness(image: np.ndarray, figure: Any, point: tuple[float, float]) -> float:
    """Blue minus red, the median over a small patch around `point` in the first axes' data
    coordinates: > 0 is the "1" colour, < 0 the "0" colour."""
    x, y = figure.axes[0].transData.transform(point)
    row, column = round(image.shape[0] - y), round(x)
    patch = image[row - PATCH : row + PATCH + 1, column - PATCH : column + PATCH + 1]
    return float(np.median(patch[..., 2] - patch[..., 0]))


def test_xor_surface_is_the_1_colour_where_the_model_says_1(xor: Client, tmp_path: Path) -> None:
    figure = plot_surface(xor, "xor")
    image = saved_png(figure, tmp_path / "surface.png")
    corners = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert [blueness(image, figure, c) > 0.2 for c in corners] == [False, True, True, False]
    assert [blueness(image, figure, c) < -0.2 for c in corners] == [True, False, False, True]
    # Beyond the corners, where no task point is drawn, the colour is the model's own answer.
    beyond = [(-0.1, -0.1), (-0.1, 1.1), (1.1, -0.1), (1.1, 1.1)]
    labels = xor.predict("xor", [list(p) for p in beyond]).labels
    assert [blueness(image, figure, p) > 0 for p in beyond] == [row[0] == 1 for row in labels]
    # A line w·x + b = 0 for each first-layer unit whose line crosses the view.
    axes = figure.axes[0]
    box = np.array([(x, y) for x in axes.get_xlim() for y in axes.get_ylim()])
    units = [(np.array(u.weights), u.bias) for u in xor.explain("xor").hidden_units]
    crossing = [(w, b) for w, b in units if len({bool(v > 0) for v in box @ w + b}) == 2]
    assert len(axes.lines) == len(crossing) > 0
    for line, (w, b) in zip(axes.lines, crossing, strict=True):
        assert line.get_xydata() @ w + b == pytest.approx(0, abs=1e-9)


def test_perceptron_surface_shows_article_002s_region(perceptron: Client, tmp_path: Path) -> None:
    figure = plot_surface(perceptron, "perceptron")
    image = saved_png(figure, tmp_path / "surface.png")
    assert blueness(image, figure, (1.5, 0.5)) > 0.2  # x1 > 1 and x2 < 1
    for outside in [(0.5, 0.5), (1.5, 1.5), (0.5, 1.5)]:
        assert blueness(image, figure, outside) < -0.2
    # Its two half-planes are the lines x1 = 1 and x2 = 1.
    vertical, horizontal = figure.axes[0].lines
    assert set(np.round(vertical.get_xdata(), 9)) == {1.0}
    assert set(np.round(horizontal.get_ydata(), 9)) == {1.0}


def test_more_boolean_inputs_give_the_truth_table_as_a_heat_map(client: Client) -> None:
    client.train("maj3", ("majority", {"n": 3}), hidden=[3])
    figure = plot_surface(client, "maj3")
    cells = figure.axes[0].images[0].get_array()
    assert cells.shape == (4, 2)  # x1 x2 down, x3 across
    outputs = [row.outputs[0] for row in client.evaluate("maj3").rows]
    assert cells.ravel().tolist() == pytest.approx(outputs)


def test_loss_plots_the_stored_history(xor: Client, tmp_path: Path) -> None:
    history = xor.model("xor").history
    figure = plot_loss(xor, "xor", log=True)
    saved_png(figure, tmp_path / "loss.png")
    loss_axes, accuracy_axes = figure.axes
    assert loss_axes.get_yscale() == "log"
    assert loss_axes.lines[0].get_ydata().tolist() == history.loss
    assert accuracy_axes.lines[0].get_xdata().tolist() == history.epochs
    assert plot_loss(xor, "xor").axes[0].get_yscale() == "linear"


def test_loss_of_a_population_shows_its_epochs_to_solve(client: Client) -> None:
    outcome = client.train("seeds", "xor", population=20)
    figure = plot_loss(client, "seeds")
    counts = [patch.get_height() for patch in figure.axes[2].patches]
    assert sum(counts) == outcome.solved_members == 20


def test_network_draws_every_weight_and_labels_the_units(xor: Client, tmp_path: Path) -> None:
    figure = plot_network(xor, "xor")
    saved_png(figure, tmp_path / "network.png")
    edges = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]
    assert [len(e.get_segments()) for e in edges] == [2 * 8, 8 * 1]
    texts = {t.get_text() for t in figure.axes[0].texts}
    explanation = xor.explain("xor")
    for index, unit in enumerate(explanation.hidden_units):
        assert f"h{index + 1}: {unit.formula}" in texts
    assert explanation.outputs[0].formula in texts


def test_network_of_the_perceptron_reads_its_half_planes(perceptron: Client) -> None:
    texts = {t.get_text() for t in plot_network(perceptron, "perceptron").axes[0].texts}
    assert {"h1: x1 > 1", "h2: x2 < 1", "x1 > 1 and x2 < 1"} <= texts


def run_cli(address: str, *args: str, block_matplotlib: bool = False) -> Any:
    block = "sys.modules['matplotlib'] = None; " if block_matplotlib else ""
    program = f"import sys; {block}from gatelearn.client.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", program, "--address", address, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plot_all_writes_a_png_of_each_kind(xor: Client, address: str, tmp_path: Path) -> None:
    result = run_cli(address, "plot", "xor", "--kind", "all", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 0, result.stderr
    for kind in ("surface", "loss", "network"):
        path = tmp_path / f"x-{kind}.png"
        assert f"wrote {kind} of xor:1 to {path}" in result.stdout
        height, width, channels = imread(path).shape
        assert channels == 4 and 300 <= height <= 800 and 400 <= width <= 1000


def test_plot_writes_svg_that_parses(perceptron: Client, address: str, tmp_path: Path) -> None:
    out = tmp_path / "p.svg"
    assert main(["--address", address, "plot", "perceptron", "--out", str(out)]) == 0
    assert ElementTree.parse(out).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_without_matplotlib_the_message_names_the_extra(
    xor: Client, address: str, tmp_path: Path
) -> None:
    out = tmp_path / "x.png"
    result = run_cli(address, "plot", "xor", "--out", str(out), block_matplotlib=True)
    assert result.returncode == 1
    assert "pip install 'gatelearn[plot]'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_what_cannot_be_drawn_is_said(
    perceptron: Client, address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "loss.png"
    assert (
        main(["--address", address, "plot", "perceptron", "--kind", "loss", "--out", str(out)]) == 1
    )
    assert "perceptron:1 has no recorded history" in capsys.readouterr().err
    assert main(["--address", address, "plot", "perceptron", "--out", "x.jpg"]) == 2
    assert "expected a .png or .svg file name" in capsys.readouterr().err
    assert not out.exists()
