"""The `surface` picture: what a model answers over its input space.

Two inputs: its output over the inputs' range as a colour map (a packed Predict on a grid), the
decision boundary at the threshold, the task's rows coloured by target with the wrong ones
crossed, and each first-layer unit's line w·x + b = 0 (the built-in activations' midpoint).
More boolean inputs (up to MAX_TABLE_INPUTS): the truth table as a heat map, the first half of
the inputs down the side and the rest across.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatelearn.client.client import Client
from gatelearn.client.plots._figures import (
    FALSE_COLOUR,
    TRUE_COLOUR,
    WRONG_COLOUR,
    CannotPlot,
    new_figure,
    output_colours,
)
from gatelearn.client.types import Explanation

__all__ = ["MAX_TABLE_INPUTS", "plot_surface"]

GRID = 161  # points along each axis of the plane's grid
PAD = 0.15  # share of the rows' span shown beyond them on each side
MAX_POINTS = 2000  # task rows drawn at most (every k-th beyond)
MAX_TABLE_INPUTS = 10  # a 32 x 32 heat map
ANNOTATE_CELLS = 64  # heat maps up to this many cells print each output


def plot_surface(client: Client, name: str, *, version: int = 0) -> Any:
    """A Figure of model `name`'s output: a plane for two inputs, a heat map for a table."""
    import numpy as np

    explanation = client.explain(name, version=version)
    version = explanation.model.version  # every call below reads this same version
    evaluation = client.evaluate(name, version=version)
    inputs = len(explanation.input_names)
    rows = _Rows(
        np.array([r.inputs for r in evaluation.rows], dtype=float).reshape(-1, inputs),
        np.array([r.targets for r in evaluation.rows], dtype=float),
        np.array([r.outputs for r in evaluation.rows], dtype=float),
    )
    if inputs == 2:
        return _plane(client, explanation, rows)
    if explanation.boolean_inputs and inputs <= MAX_TABLE_INPUTS:
        return _table(explanation, rows)
    raise CannotPlot(
        f"{explanation.model} has {inputs} inputs: a surface shows 2 real inputs, or a truth "
        f"table of at most {MAX_TABLE_INPUTS} boolean inputs"
    )


@dataclass(frozen=True)
class _Rows:
    """The task's rows as Evaluate answered them, as arrays (rows x columns)."""

    inputs: Any
    targets: Any
    outputs: Any


def _norm(values: Any, threshold: float) -> Any:
    """A colour scale centred on the threshold, reaching the model's farthest output."""
    import numpy as np
    from matplotlib.colors import Normalize

    reach = max(float(np.nanmax(np.abs(values - threshold))), 1e-9)
    return Normalize(threshold - reach, threshold + reach)


def _side_colours(values: Any, threshold: float) -> list[str]:
    return [TRUE_COLOUR if v > threshold else FALSE_COLOUR for v in values]


def _title(explanation: Explanation, output: int) -> str:
    outputs = len(explanation.outputs)
    which = f", output {output + 1}" if outputs > 1 else ""
    return f"{explanation.model} ({explanation.trained_task}){which}"


def _plane(client: Client, explanation: Explanation, rows: _Rows) -> Any:
    import numpy as np

    low, high = rows.inputs.min(axis=0), rows.inputs.max(axis=0)
    span = np.maximum(high - low, 1.0)
    low, high = low - PAD * span, high + PAD * span
    xs, ys = np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    values, _ = client.predict_array(
        explanation.model.name, grid, version=explanation.model.version
    )
    shown = slice(None, None, max(1, len(rows.inputs) // MAX_POINTS))
    outputs = len(explanation.outputs)
    figure = new_figure(5.2 * outputs, 4.4)
    for k, axes in enumerate(figure.subplots(1, outputs, squeeze=False)[0]):
        surface = values[:, k].reshape(GRID, GRID)
        threshold = explanation.threshold
        mesh = axes.pcolormesh(
            xs,
            ys,
            surface,
            cmap=output_colours(),
            norm=_norm(surface, threshold),
            shading="nearest",
            rasterized=True,
        )
        figure.colorbar(mesh, ax=axes, label="output")
        if surface.min() < threshold < surface.max():
            axes.contour(xs, ys, surface, levels=[threshold], colors="black", linewidths=1.5)
        _unit_lines(axes, explanation, (low, high))
        _points(axes, rows, k, threshold, shown)
        axes.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), title=_title(explanation, k))
        axes.set_xlabel(explanation.input_names[0])
        axes.set_ylabel(explanation.input_names[1])
    return figure


def _unit_lines(axes: Any, explanation: Explanation, box: tuple[Any, Any]) -> None:
    """Each first-layer unit's line w1·x1 + w2·x2 + b = 0, labelled h1, h2, ..."""
    import numpy as np

    (x0, y0), (x1, y1) = box
    for index, unit in enumerate(explanation.hidden_units):
        (w1, w2), b = unit.weights, unit.bias
        if abs(w2) >= abs(w1) and w2 != 0:
            xs = np.linspace(x0, x1, 200)
            ys = -(w1 * xs + b) / w2
        elif w1 != 0:
            ys = np.linspace(y0, y1, 200)
            xs = -(w2 * ys + b) / w1
        else:
            continue  # no weight: the unit is constant, no line
        inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        if not inside.any():
            continue
        axes.plot(xs, ys, color="dimgray", linestyle="--", linewidth=0.9)
        # Labels spread along their lines, so lines that meet do not stack their labels.
        share = (index + 1) / (len(explanation.hidden_units) + 1)
        middle = np.flatnonzero(inside)[int(inside.sum() * share)]
        axes.annotate(
            f"h{index + 1}",
            (xs[middle], ys[middle]),
            fontsize=8,
            color="dimgray",
            xytext=(3, 3),
            textcoords="offset points",
            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.7, "lw": 0},
            zorder=5,
        )


def _points(axes: Any, rows: _Rows, output: int, threshold: float, shown: slice) -> None:
    """The task's rows coloured by target; a cross on each the model gets wrong."""
    inputs = rows.inputs[shown]
    targets, outputs = rows.targets[shown, output], rows.outputs[shown, output]
    size = 60 if len(inputs) <= 64 else 12
    axes.scatter(
        inputs[:, 0],
        inputs[:, 1],
        c=_side_colours(targets, threshold),
        s=size,
        edgecolors="white",
        linewidths=0.8,
        zorder=3,
    )
    wrong = (outputs > threshold) != (targets > threshold)
    if wrong.any():
        axes.scatter(
            inputs[wrong, 0],
            inputs[wrong, 1],
            marker="x",
            c=WRONG_COLOUR,
            s=size * 1.5,
            zorder=4,
            label=f"wrong ({int(wrong.sum())})",
        )
        axes.legend(loc="upper right", fontsize=8)


def _table(explanation: Explanation, rows: _Rows) -> Any:
    import numpy as np

    inputs = len(explanation.input_names)
    down, across = (inputs + 1) // 2, inputs // 2
    weights = 2 ** np.arange(inputs - 1, -1, -1)  # the first input is the most significant
    index = np.rint(rows.inputs).astype(int) @ weights
    outputs = len(explanation.outputs)
    figure = new_figure(max(4.0, 0.45 * 2**across + 2.2) * outputs, max(3.0, 0.4 * 2**down + 1.6))
    for k, axes in enumerate(figure.subplots(1, outputs, squeeze=False)[0]):
        cells = np.full(2**inputs, np.nan)
        cells[index] = rows.outputs[:, k]
        cells = cells.reshape(2**down, 2**across)
        threshold = explanation.threshold
        image = axes.imshow(
            cells, cmap=output_colours(), norm=_norm(cells, threshold), aspect="auto"
        )
        figure.colorbar(image, ax=axes, label="output")
        wrong = (rows.outputs[:, k] > threshold) != (rows.targets[:, k] > threshold)
        across_mask = 2**across - 1
        axes.scatter(
            index[wrong] & across_mask, index[wrong] >> across, marker="x", c=WRONG_COLOUR, s=80
        )
        if cells.size <= ANNOTATE_CELLS:
            for (row, column), value in np.ndenumerate(cells):
                if not np.isnan(value):
                    axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
        names = explanation.input_names
        axes.set_yticks(range(2**down), [format(i, f"0{down}b") for i in range(2**down)])
        axes.set_xticks(
            range(2**across),
            [format(i, f"0{across}b") for i in range(2**across)],
            rotation=90 if across > 2 else 0,
        )
        axes.set_ylabel(" ".join(names[:down]))
        axes.set_xlabel(" ".join(names[down:]))
        axes.set_title(_title(explanation, k))
    return figure
