"""TrainOptions.validation_share through a real server: held-out loss and accuracy in progress
events and final metrics, the same for the same seed, early stopping on them, bad shares
refused by name."""

from __future__ import annotations

import grpc
import pytest
from server_test_support import expect_error, store_snapshot

from gatelearn.client import Client, Progress, TrainOptions, TrainOutcome
from gatelearn.client.cli import main

NOISY_CIRCLE = ("circle", {"noise": 0.3})


def train_circle(
    client: Client,
    name: str,
    seed: int = 0,
    epochs: int = 3000,
    patience: int = 0,
    validation_share: float = 0.0,
) -> TrainOutcome:
    """16 tanh units on a noisy circle, whose classes overlap: a network can overfit it."""
    options = TrainOptions(
        epochs=epochs, stop_when_solved=False, patience=patience, validation_share=validation_share
    )
    return client.train(name, NOISY_CIRCLE, hidden=[16], seed=seed, options=options)


def test_metrics_and_progress_carry_the_held_out_rows(client: Client) -> None:
    events: list[Progress] = []
    outcome = client.train(
        "held",
        NOISY_CIRCLE,
        hidden=[16],
        on_progress=events.append,
        options=TrainOptions(
            epochs=3000, stop_when_solved=False, validation_share=0.25, progress_interval_ms=1
        ),
    )
    metrics = outcome.metrics
    assert metrics.validation_loss is not None and metrics.validation_loss > 0
    assert metrics.validation_accuracy is not None and 0.5 < metrics.validation_accuracy <= 1
    assert events and all(
        e.validation_loss is not None and e.validation_accuracy is not None for e in events
    )
    assert client.model("held").summary.metrics == metrics
    plain = client.train("plain", "xor")
    assert plain.metrics.validation_loss is None and plain.metrics.validation_accuracy is None


def test_the_same_seed_holds_out_the_same_rows(client: Client) -> None:
    first = train_circle(client, "a", seed=5, epochs=200, validation_share=0.3)
    again = train_circle(client, "b", seed=5, epochs=200, validation_share=0.3)
    other = train_circle(client, "c", seed=6, epochs=200, validation_share=0.3)
    assert first.metrics == again.metrics
    assert first.metrics != other.metrics


def test_patience_on_validation_loss_stops_earlier(client: Client) -> None:
    on_training = train_circle(client, "t", patience=50)
    on_validation = train_circle(client, "v", patience=50, validation_share=0.25)
    assert on_validation.stop_reason == "patience"
    assert on_validation.epochs < on_training.epochs


@pytest.mark.parametrize(
    ("task", "share", "words"),
    [
        ("xor", 0.6, "must be 0 to 0.5, got 0.6"),
        ("xor", -0.1, "must be 0 to 0.5, got -0.1"),
        ("xor", float("nan"), "must be 0 to 0.5, got nan"),
        (("table", {"inputs": [[0]], "outputs": [[1]]}), 0.5, "at least 2 rows"),
    ],
)
def test_a_bad_share_is_invalid_argument_naming_it(
    client: Client, task: object, share: float, words: str
) -> None:
    client.train("kept", "xor", options=TrainOptions(epochs=0))
    before = store_snapshot(client)
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.train,
        "bad",
        task,
        options=TrainOptions(validation_share=share),
    )
    assert details.startswith("options.validation_share: "), details
    assert words in details, details
    assert store_snapshot(client) == before


def test_the_command_line_shows_validation_metrics(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--address",
            address,
            "train",
            "circle",
            "--name",
            "cli",
            "--hidden",
            "16",
            "--validation-share",
            "0.25",
            "--epochs",
            "500",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "  validation loss " in out and out.startswith("saved cli:1 "), out
