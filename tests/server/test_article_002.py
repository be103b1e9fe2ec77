"""Article 002's hand-written perceptron, imported and served.

p1 = sign(x1 - 1) and p2 = sign(1 - x2) come from the matrix [[1, 0], [0, -1], [-1, 1]] on
[x1, x2, 1] (its last row is the bias); the output sign(p1 + p2) from [[1], [1], [0]] on
[p1, p2, 1]. With sign(0) = -1 the network answers 1 exactly when x1 > 1 and x2 < 1.
"""

from __future__ import annotations

import pytest
from perceptron_support import PERCEPTRON

from gatelearn.client import Client


def article_label(x1: float, x2: float) -> float:
    return 1.0 if x1 > 1 and x2 < 1 else -1.0


@pytest.fixture
def perceptron(client: Client) -> Client:
    ref = client.import_model("perceptron", PERCEPTRON)
    assert str(ref) == "perceptron:1"
    return client


POINTS = [
    ((2, 0), 1.0),
    ((1.5, 0.5), 1.0),
    ((1.0001, 0.9999), 1.0),
    ((0, 0), -1.0),
    ((2, 2), -1.0),
    ((0, 2), -1.0),
    # On the lines: sign(0) = -1, so the point is outside.
    ((1, 0.5), -1.0),
    ((1.5, 1), -1.0),
    ((1, 1), -1.0),
    # Where one perceptron says +1 and the other -1: sign(1 + (-1)) = sign(0) = -1.
    ((2, 1.5), -1.0),
    ((0.5, 0.5), -1.0),
]


def test_perceptron_labels_points_as_the_article_does(perceptron: Client) -> None:
    points = [list(point) for point, _ in POINTS]
    prediction = perceptron.predict("perceptron", points)
    expected = [[label] for _, label in POINTS]
    assert [[article_label(*p)] for p in points] == expected  # the table above is the rule
    assert prediction.threshold == 0.0
    assert prediction.outputs == expected  # sign outputs are exactly +-1
    assert prediction.labels == expected


def test_perceptron_on_a_grid(perceptron: Client) -> None:
    grid = [[i / 4, j / 4] for i in range(-2, 11) for j in range(-2, 11)]
    prediction = perceptron.predict("perceptron", grid)
    assert prediction.labels == [[article_label(x1, x2)] for x1, x2 in grid]


def test_perceptron_evaluates_perfectly_on_its_own_task(perceptron: Client) -> None:
    evaluation = perceptron.evaluate("perceptron")
    assert evaluation.accuracy == 1.0
    assert evaluation.min_margin == 1.0
    assert len(evaluation.rows) == 200  # the region task's default sample
    for row in evaluation.rows:
        assert row.correct
        assert row.targets == [article_label(*row.inputs)] == row.outputs
    summary = perceptron.model("perceptron").summary
    assert summary.task == "region" and summary.sizes == [2, 2, 1]
    assert summary.metrics.accuracy == 1.0 and summary.metrics.solved
    assert summary.metrics.loss == 0.0 and summary.metrics.solved_epoch == -1


def test_perceptron_detail_and_export(perceptron: Client) -> None:
    detail = perceptron.model("perceptron")
    assert detail.activations == ["sign", "sign"]
    assert detail.bias is True and detail.request is None and detail.history.epochs == []
    exported = perceptron.export_model("perceptron")
    assert [layer["weights"] for layer in exported["layers"]] == [
        {"shape": [2, 2], "values": [1.0, 0.0, 0.0, -1.0]},
        {"shape": [2, 1], "values": [1.0, 1.0]},
    ]
    assert [layer["bias"]["values"] for layer in exported["layers"]] == [[-1.0, 1.0], [0.0]]
    assert (exported["low"], exported["high"]) == (-1.0, 1.0)
    assert exported["task"] == PERCEPTRON["task"]


def test_perceptron_region_matches_describe_task(perceptron: Client) -> None:
    described = perceptron.describe_task("region", {"labels": "sign"}, preview_rows=200)
    evaluation = perceptron.evaluate("perceptron")
    assert [row.inputs for row in evaluation.rows] == described.rows_inputs
    assert [row.targets for row in evaluation.rows] == described.rows_targets


def test_perceptron_evaluated_on_a_truth_table_reads_0_as_low(perceptron: Client) -> None:
    evaluation = perceptron.evaluate("perceptron", table=([[2, 0], [0, 0]], [[1], [0]]))
    assert evaluation.accuracy == 1.0
    assert [row.targets for row in evaluation.rows] == [[1.0], [-1.0]]
