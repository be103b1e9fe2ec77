"""The 2-D classification datasets of TensorFlow Playground: circle, two Gaussian clusters, the
continuous XOR and two interleaved spirals, seeded, with a noise parameter.

Every point is drawn from one row of uniform numbers, so a preview of k points is exactly the
first k points of the whole sample. Points lie within about [-1, 1] on both axes; `noise` moves
each point by up to that much along each axis after its label is fixed, so classes overlap as
noise grows (as scikit-learn's make_circles does).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Dataset, Param, Task
from gatelearn.plugins._markers import hookimpl

Points = NDArray[np.float64]


class PlaygroundTask(Task):
    """A sampled 2-D task: `points` points labelled high (1) or low (0, or -1 with sign labels).

    A subclass says how many uniform numbers one point takes (`draws`) and turns a block of
    them into clean points and their labels (`place`).
    """

    params = (
        Param("points", "int", 200, "how many points to sample", minimum=1, maximum=1_000_000),
        Param(
            "noise",
            "float",
            0.0,
            "largest displacement of a point along each axis, after labelling",
            minimum=0.0,
            maximum=1.0,
        ),
        Param(
            "labels",
            "str",
            "binary",
            "label values: binary (0/1) or sign (-1/+1)",
            choices=("binary", "sign"),
        ),
    )
    draws: ClassVar[int]
    points: int
    noise: float
    labels: str

    @abstractmethod
    def place(self, index: NDArray[np.int64], uniform: Points) -> tuple[Points, NDArray[np.bool_]]:
        """Clean points (rows, 2) for rows `index` of the sample, and which are high."""

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.points)

    def row_count(self) -> int:
        return self.points

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        count = min(rows, self.points)
        # One call fills the rows in order, so fewer rows are the first of the full sample.
        uniform = rng.random((count, self.draws + 2))
        clean, high = self.place(np.arange(count), uniform[:, : self.draws])
        points = clean + self.noise * (2 * uniform[:, self.draws :] - 1)
        low = -1.0 if self.labels == "sign" else 0.0
        return Dataset(points, np.where(high, 1.0, low)[:, None], low=low, high=1.0)


def _alternating(index: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Even rows high, odd rows low: both classes the same size in any prefix, within one."""
    return index % 2 == 0


class Circle(PlaygroundTask):
    name = "circle"
    description = (
        "a disc of radius 0.5 (label 1) inside a ring of radii 0.7 to 1 (label 0), "
        "TF Playground's circle"
    )
    draws = 2

    def place(self, index: NDArray[np.int64], uniform: Points) -> tuple[Points, NDArray[np.bool_]]:
        high = _alternating(index)
        radius = np.where(high, 0.5 * uniform[:, 0], 0.7 + 0.3 * uniform[:, 0])
        angle = 2 * np.pi * uniform[:, 1]
        return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]), high


class TwoGaussians(PlaygroundTask):
    name = "gauss"
    description = (
        "two Gaussian clusters of standard deviation 0.25 around (0.5, 0.5) "
        "(label 1) and (-0.5, -0.5) (label 0)"
    )
    draws = 2

    def place(self, index: NDArray[np.int64], uniform: Points) -> tuple[Points, NDArray[np.bool_]]:
        high = _alternating(index)
        # Box-Muller: two uniforms give two independent standard normals.
        length = np.sqrt(-2 * np.log1p(-uniform[:, 0]))
        angle = 2 * np.pi * uniform[:, 1]
        normal = np.column_stack([length * np.cos(angle), length * np.sin(angle)])
        centre = np.where(high, 0.5, -0.5)[:, None]
        return centre + 0.25 * normal, high


class XorQuadrants(PlaygroundTask):
    name = "xor_quadrants"
    description = (
        "points in [-1, 1]^2 kept 0.05 away from the axes, label 1 where x1 and x2 "
        "have the same sign: the continuous XOR"
    )
    draws = 2
    gap = 0.05

    def place(self, index: NDArray[np.int64], uniform: Points) -> tuple[Points, NDArray[np.bool_]]:
        centred = 2 * uniform - 1
        clean = np.sign(centred) * (self.gap + (1 - self.gap) * np.abs(centred))
        return clean, clean[:, 0] * clean[:, 1] > 0


class Spiral(PlaygroundTask):
    name = "spiral"
    description = (
        "two spiral arms of 1.75 turns from the origin out to radius 1, half a turn "
        "apart: label 1 on one, 0 on the other"
    )
    draws = 0
    turns = 1.75
    # One layer of max(8, 4 x 2) units gets no seed to 0.99 accuracy (bench/defaults.py).
    default_hidden = (16, 16)

    def place(self, index: NDArray[np.int64], uniform: Points) -> tuple[Points, NDArray[np.bool_]]:
        high = _alternating(index)
        arm_points = -(-self.points // 2)
        along = (index // 2) / arm_points  # 0 at the centre to nearly 1 at the end of an arm
        angle = 2 * np.pi * self.turns * along + np.where(high, 0.0, np.pi)
        return np.column_stack([along * np.sin(angle), along * np.cos(angle)]), high


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [Circle, TwoGaussians, XorQuadrants, Spiral]
