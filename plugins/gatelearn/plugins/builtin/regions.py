"""Conjunction regions of the plane (article 002): real-valued points labelled 1 exactly when
they lie strictly on the positive side of every half-plane a x1 + b x2 + c > 0."""

from __future__ import annotations

from typing import Any

import numpy as np

from gatelearn.core import Dataset, Param, ParamError, Task
from gatelearn.plugins._markers import hookimpl

# x1 - 1 > 0 and 1 - x2 > 0: article 002's perceptrons p1 = sign(x1 - 1), p2 = sign(1 - x2).
ARTICLE_PLANES = ((1.0, 0.0, -1.0), (0.0, -1.0, 1.0))
MAX_PLANES = 64  # labelling holds a points x planes matrix


class ConjunctionRegion(Task):
    name = "region"
    description = "2-D points in a box, labelled by a conjunction of half-planes (article 002)"
    params = (
        Param("points", "int", 200, "how many points to sample", minimum=1, maximum=1_000_000),
        Param(
            "low",
            "float",
            0.0,
            "lower edge of the sampling box, both axes",
            minimum=-1e6,
            maximum=1e6,
        ),
        Param(
            "high",
            "float",
            2.0,
            "upper edge of the sampling box, both axes",
            minimum=-1e6,
            maximum=1e6,
        ),
        Param(
            "planes",
            "data",
            ARTICLE_PLANES,
            f"half-planes as [a, b, c] rows, each meaning a*x1 + b*x2 + c > 0 (at most "
            f"{MAX_PLANES})",
        ),
        Param(
            "labels",
            "str",
            "binary",
            "label values: binary (0/1) or sign (-1/+1)",
            choices=("binary", "sign"),
        ),
    )
    points: int
    low: float
    high: float
    labels: str

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if not self.low < self.high:
            raise ParamError("high", f"must be greater than low ({self.low}), got {self.high}")
        try:
            planes = np.asarray(self.values["planes"], dtype=np.float64)
        except (TypeError, ValueError):
            raise ParamError("planes", "must be rows of three numbers [a, b, c]") from None
        if planes.ndim != 2 or planes.shape[1] != 3 or len(planes) == 0:
            raise ParamError("planes", f"must be rows of three numbers, got shape {planes.shape}")
        if len(planes) > MAX_PLANES:
            raise ParamError("planes", f"at most {MAX_PLANES} half-planes, got {len(planes)}")
        if not np.isfinite(planes).all():
            raise ParamError("planes", "values must be finite")
        self.planes = planes

    def label(self, points: np.ndarray) -> np.ndarray:
        """1 where every half-plane holds strictly, else 0 (or -1 with sign labels)."""
        sides = points @ self.planes[:, :2].T + self.planes[:, 2]
        inside = (sides > 0).all(axis=1)
        low = -1.0 if self.labels == "sign" else 0.0
        return np.where(inside, 1.0, low)[:, None]

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.points)

    def row_count(self) -> int:
        return self.points

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        # A generator fills arrays in order, so fewer points are the first of the full sample.
        points = rng.uniform(self.low, self.high, size=(min(rows, self.points), 2))
        low = -1.0 if self.labels == "sign" else 0.0
        return Dataset(points, self.label(points), low=low, high=1.0)


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [ConjunctionRegion]
