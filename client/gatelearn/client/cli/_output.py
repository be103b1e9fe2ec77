"""Writing results: aligned plain-text tables for people, JSON documents for programs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gatelearn.client.types import Component, Metrics, ModelSummary, Param, TrainOutcome

__all__ = [
    "component_lines",
    "created",
    "held_out_text",
    "margin_text",
    "metrics_text",
    "numbers",
    "outcome_line",
    "params_summary",
    "recipe_lines",
    "ref_text",
    "share",
    "solved_text",
    "table",
    "to_json",
    "value_text",
]


def _plain(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: object) -> str:
    """`data` as indented JSON: dataclasses as objects, datetimes as ISO 8601 strings."""
    return json.dumps(data, default=_plain, indent=2)


def numbers(values: Iterable[float], spec: str = "g") -> str:
    return " ".join(format(v, spec) for v in values)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    right: Iterable[int] = (),
    indent: str = "",
) -> list[str]:
    """Lines of an aligned table; the columns numbered in `right` are right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = set(right)
    lines = []
    for r in cells:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append((indent + "  ".join(padded)).rstrip())
    return lines


def created(summary: ModelSummary) -> str:
    return summary.created_at.strftime("%Y-%m-%d %H:%M:%S")


def share(value: float) -> str:
    """A share of rows, 0 to 1, with two decimals, or more where two would round a share
    short of 1 up to 1.00 or one above 0 down to 0.00 (255/256 is 0.996, never 1.00)."""
    text = f"{value:.2f}"
    for digits in range(3, 10):
        if (float(text) == 1) == (value == 1) and (float(text) == 0) == (value == 0):
            break
        text = f"{value:.{digits}f}"
    return text


def margin_text(margin: float) -> str:
    """A min margin, 3 significant digits; 0 (never -0) says an output sits on the threshold,
    which counts as wrong."""
    if margin == 0:
        return "0 (an output on the threshold)"
    return f"{margin:.3g}"


def solved_text(metrics: Metrics) -> str:
    if not metrics.solved:
        return "no"
    return f"epoch {metrics.solved_epoch}" if metrics.solved_epoch >= 0 else "yes"


def held_out_text(loss: float | None, accuracy: float | None) -> str:
    """`  validation loss 0.2  accuracy 0.90`, or nothing when no rows were held out."""
    if loss is None or accuracy is None:
        return ""
    return f"  validation loss {loss:.4g}  accuracy {share(accuracy)}"


def metrics_text(metrics: Metrics) -> str:
    return (
        f"loss {metrics.loss:.4g}  accuracy {share(metrics.accuracy)}  "
        f"min margin {margin_text(metrics.min_margin)}"
        f"{held_out_text(metrics.validation_loss, metrics.validation_accuracy)}"
    )


def outcome_line(outcome: TrainOutcome) -> str:
    """`saved xor-demo:1  solved at epoch 24 (stop: solved)  loss 0.1697  ...`."""
    metrics = outcome.metrics
    if metrics.solved and metrics.solved_epoch >= 0:
        status = f"solved at epoch {metrics.solved_epoch}"
    elif metrics.solved:
        status = f"solved after {outcome.epochs} epochs"
    else:
        status = f"not solved after {outcome.epochs} epochs"
    line = f"saved {outcome.model}  {status} (stop: {outcome.stop_reason})  {metrics_text(metrics)}"
    if outcome.population > 1:
        line += (
            f"  member {outcome.member} of {outcome.population} ({outcome.solved_members} solved)"
        )
    if outcome.parent:
        line += f"  from {outcome.parent}"
    if outcome.fresh_optimizer_state:
        line += " (which kept no optimizer state: started with fresh state)"
    return line


def _bounds(param: Param) -> str:
    if param.minimum is None and param.maximum is None:
        return ""
    low = "-inf" if param.minimum is None else f"{param.minimum:g}"
    high = "inf" if param.maximum is None else f"{param.maximum:g}"
    return f"[{low}, {high}]"


def value_text(value: Any) -> str:
    """A parameter value as it would be typed: 3, 0.5, true, "binary", [[1, 0, -1]].

    Numbers travel as doubles, so whole numbers are shown without their ".0".
    """
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {value_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def params_summary(component: Component) -> str:
    """`n=3, inputs` style: each parameter with its default, if it has one."""
    return ", ".join(
        p.name if p.default is None else f"{p.name}={value_text(p.default)}"
        for p in component.params
    )


def _param_row(param: Param) -> tuple[str, ...]:
    default = "required" if param.default is None else f"= {value_text(param.default)}"
    allowed = _bounds(param) or ("one of " + "|".join(param.choices) if param.choices else "")
    return (param.name, param.type, default, allowed, param.description)


def component_lines(components: Sequence[Component]) -> list[str]:
    """Components grouped by kind, each followed by its parameters, indented."""
    lines: list[str] = []
    for kind in dict.fromkeys(c.kind for c in components):
        members = [c for c in components if c.kind == kind]
        if lines:
            lines.append("")
        lines.append(f"{kind} ({len(members)})")
        rows = table(
            ["NAME", "VERSION", "PLUGIN", "DESCRIPTION"],
            [(c.name, c.version, c.plugin, c.description) for c in members],
            indent="  ",
        )
        # One table for the parameters of the whole kind, so they align across components.
        params = table(
            [""] * 5, [_param_row(p) for c in members for p in c.params], indent="      "
        )[1:]
        lines.append(rows[0])
        for component, line in zip(members, rows[1:], strict=True):
            lines.append(line)
            lines.extend(params[: len(component.params)])
            params = params[len(component.params) :]
    return lines


def ref_text(ref: dict[str, Any]) -> str:
    """`adam beta1=0.9 ... lr=0.05`: a component and every parameter it was built with, sorted
    (a Struct keeps no order)."""
    params = ref.get("params") or {}
    return " ".join([ref["name"], *(f"{k}={value_text(params[k])}" for k in sorted(params))])


def recipe_lines(recipe: dict[str, Any], indent: str = "") -> list[str]:
    """A recipe (`ModelDetail.recipe`, `Client.default_recipe`), one setting a line."""
    options = recipe["options"]
    rows = [
        *([("task", ref_text(recipe["task"]))] if "task" in recipe else []),
        (
            "hidden",
            (",".join(map(str, recipe["hidden"])) or "none")
            if "hidden" in recipe
            else "chosen from the task: its declared sizes, else max(8, 4 x inputs) units",
        ),
        ("activations", ", ".join(ref_text(a) for a in recipe["activations"])),
        ("bias", value_text(recipe["bias"])),
        *((kind, ref_text(recipe[kind])) for kind in ("loss", "optimizer", "initializer")),
        ("options", " ".join(f"{k}={value_text(v)}" for k, v in options.items())),
        *((key, str(recipe[key])) for key in ("seed", "population", "dtype")),
    ]
    return table(["", ""], rows, indent=indent)[1:]
