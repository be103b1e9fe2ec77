"""The Python client takes what Python users have (issue 14): NumPy arrays wherever lists
are accepted, and the common options as keywords. Against a real server."""

from __future__ import annotations

import numpy as np
import pytest

from gatelearn.client import Client, TrainOptions

WEIGHTS = [[[0.5, -0.5], [-0.5, 0.5]], [[1.0], [1.0]]]
BIASES = [[0.1, 0.1], [-0.2]]
AND_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
AND_OUTPUTS = [[0], [0], [0], [1]]


def test_numpy_arrays_are_taken_wherever_lists_are(client: Client) -> None:
    as_lists = client.train(
        "lists", "xor", hidden=[2], weights=WEIGHTS, biases=BIASES, options=TrainOptions(epochs=50)
    )
    as_arrays = client.train(
        "arrays",
        "xor",
        hidden=[2],
        weights=[np.array(w) for w in WEIGHTS],
        biases=[np.array(b) for b in BIASES],
        options=TrainOptions(epochs=50),
    )
    assert as_arrays.metrics == as_lists.metrics

    table = (np.array(AND_INPUTS), np.array(AND_OUTPUTS))
    client.train("and", table=table, options=TrainOptions(epochs=2000))
    assert client.predict("and", np.array(AND_INPUTS)).labels == AND_OUTPUTS
    assert client.evaluate("and", table=table).accuracy == 1.0
    described = client.describe_task("table", {"inputs": table[0], "outputs": table[1]})
    assert described.rows_targets == AND_OUTPUTS

    exported = client.export_model("and")
    first = exported["layers"][0]["weights"]
    first["values"] = np.array(first["values"])
    client.import_model("and-again", exported)
    assert (
        client.predict("and-again", AND_INPUTS).outputs == client.predict("and", AND_INPUTS).outputs
    )


def test_common_options_as_keywords(client: Client) -> None:
    client.train("kw", "xor", epochs=20, lr=0.1, stop_when_solved=False)
    request = client.model("kw").request
    assert request is not None
    assert request["options"] == {"epochs": 20, "stopWhenSolved": False}
    # No optimizer named: the lr goes to the server's default one (its recipe says which).
    assert request["optimizer"] == {"params": {"lr": 0.1}}
    assert client.model("kw").recipe["optimizer"]["params"]["lr"] == 0.1
    client.train(
        "kw-gd", "xor", optimizer="gd", lr=0.5, options=TrainOptions(epochs=5, patience=3), epochs=7
    )
    request = client.model("kw-gd").request
    assert request is not None
    assert request["optimizer"] == {"name": "gd", "params": {"lr": 0.5}}
    assert request["options"] == {"epochs": 7, "patience": 3}  # the keyword wins


def test_an_unknown_keyword_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="epoch"):
        client.train("typo", "xor", epoch=20)
    assert client.models() == []
