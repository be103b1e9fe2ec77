"""A saved model can always be read back: its history is bounded (thinned evenly, the final
epoch kept), and every answer about it fits in a message."""

from __future__ import annotations

from gatelearn.client import Client, TrainOptions
from gatelearn.server.limits import Limits

HISTORY_LIMIT = Limits().max_history_points


def test_a_history_longer_than_the_limit_is_thinned_and_reads_back(client: Client) -> None:
    epochs = 2 * HISTORY_LIMIT + 1
    options = TrainOptions(epochs=epochs, record_every=1, stop_when_solved=False)
    outcome = client.train("long", "xor", options=options)
    detail = client.model("long")
    epochs_kept = detail.history.epochs
    assert HISTORY_LIMIT // 2 <= len(epochs_kept) <= HISTORY_LIMIT
    assert epochs_kept[0] == 0 and epochs_kept[-1] == epochs == outcome.epochs
    assert len({b - a for a, b in zip(epochs_kept[:-2], epochs_kept[1:-1])}) == 1
    assert len(detail.history.loss) == len(detail.history.accuracy) == len(epochs_kept)
    assert client.export_model("long")["layers"]
