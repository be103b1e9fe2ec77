"""Training on the TF Playground datasets through a real server reaches a sensible accuracy
with a network suited to each (measured here with 100% on every one; asserted with room)."""

from __future__ import annotations

import pytest

from gatelearn.client import Client, TrainOptions

# (dataset, hidden layers, epochs): small networks, full batch, Adam's defaults.
SETUPS = [
    ("circle", [8], 2000),
    ("gauss", [2], 500),
    ("xor_quadrants", [8], 2000),
    ("spiral", [16, 16], 3000),
]


@pytest.mark.parametrize(("name", "hidden", "epochs"), SETUPS)
def test_a_suitable_network_learns_the_dataset(
    client: Client, name: str, hidden: list[int], epochs: int
) -> None:
    outcome = client.train(
        f"{name}-model",
        (name, {"points": 200, "noise": 0.05}),
        hidden=hidden,
        seed=1,
        options=TrainOptions(epochs=epochs, stop_when_solved=False),
    )
    assert outcome.metrics.accuracy >= 0.9
    evaluated = client.evaluate(f"{name}-model")
    assert len(evaluated.rows) == 200
    assert evaluated.accuracy == pytest.approx(outcome.metrics.accuracy)


def test_describe_task_previews_the_rows_a_training_uses(client: Client) -> None:
    described = client.describe_task("spiral", {"points": 50}, seed=3, preview_rows=10)
    assert (described.inputs, described.total_rows, described.low) == (2, 50, 0.0)
    client.train("spiral-few", ("spiral", {"points": 50}), seed=3, options=TrainOptions(epochs=0))
    evaluated = client.evaluate("spiral-few")
    assert [row.inputs for row in evaluated.rows[:10]] == described.rows_inputs
