"""Explain through a real server: trained gates read back as themselves, article 002's
perceptron as its region, and explaining changes nothing stored."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from server_test_support import expect_error, store_snapshot
from test_article_002 import PERCEPTRON

from gatelearn.client import Client
from gatelearn.client.cli import main

GATES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("and", {}, ["and"]),
    ("or", {}, ["or"]),
    ("nand", {}, ["nand"]),
    ("nor", {}, ["nor"]),
    ("xor", {}, ["parity n=2", "xor"]),
    ("xnor", {}, ["xnor"]),
    ("implies", {}, ["implies"]),
    ("not", {}, ["not"]),
    ("half_adder", {}, ["half_adder"]),
    ("full_adder", {}, ["full_adder"]),
    ("parity", {"n": 3}, ["parity n=3"]),
    ("majority", {"n": 3}, ["majority n=3"]),
]


@pytest.mark.parametrize(("task", "params", "equals"), GATES, ids=[g[0] for g in GATES])
def test_a_trained_gate_reads_back_as_itself(
    client: Client, task: str, params: dict[str, Any], equals: list[str]
) -> None:
    outcome = client.train("gate", (task, params))
    assert outcome.metrics.solved
    explanation = client.explain("gate")
    assert explanation.boolean_inputs and explanation.matches_trained_task
    assert explanation.trained_task == task
    assert set(equals) <= set(explanation.equals)
    for output in explanation.outputs:
        assert output.exact and len(output.values) == explanation.total_rows
        assert all(m > 0 for m in output.margins)


def test_xor_and_majority_formulas(client: Client) -> None:
    client.train("xor", "xor")
    xor = client.explain("xor")
    assert [o.formula for o in xor.outputs] == ["x1 & ~x2 | ~x1 & x2"]
    assert xor.outputs[0].values == [False, True, True, False]
    assert (xor.outputs[0].products, xor.outputs[0].literals) == (2, 4)
    client.train("adder", "half_adder", hidden=[8])
    adder = client.explain("adder")
    assert [o.formula for o in adder.outputs] == ["x1 & ~x2 | ~x1 & x2", "x1 & x2"]
    assert "xor" in adder.outputs[0].equals and "and" in adder.outputs[1].equals
    client.train("maj", ("majority", {"n": 3}))
    assert client.explain("maj").outputs[0].formula == "x1 & x2 | x1 & x3 | x2 & x3"


def test_hidden_units_of_the_first_layer(client: Client) -> None:
    client.train("xor", "xor")
    units = client.explain("xor").hidden_units
    assert len(units) == 8  # the default hidden layer
    seen: dict[str, int] = {}
    for index, unit in enumerate(units):
        assert len(unit.weights) == 2 and unit.inequality.endswith(tuple("0123456789"))
        assert unit.formula and unit.exact
        assert unit.dead == (unit.formula in ("0", "1"))
        assert unit.duplicate_of == seen.get(unit.formula)
        seen.setdefault(unit.formula, index)


def test_article_002_perceptron_reads_back_as_its_region(client: Client) -> None:
    client.import_model("perceptron", PERCEPTRON)
    explanation = client.explain("perceptron")
    assert not explanation.boolean_inputs and explanation.matches_trained_task
    assert [u.inequality for u in explanation.hidden_units] == ["x1 > 1", "x2 < 1"]
    assert [o.region for o in explanation.outputs] == ["x1 > 1 and x2 < 1"]
    assert explanation.equals == [] and explanation.outputs[0].formula == ""


def test_a_disjunction_of_half_planes(client: Client) -> None:
    either = json.loads(json.dumps(PERCEPTRON))
    either["layers"][1]["bias"]["values"] = [1.5]  # sign(p1 + p2 + 1.5): one is enough
    either["task"] = {
        "name": "region",
        "params": {"labels": "sign", "planes": [[1, 0, -1], [0, -1, 1]]},
    }
    client.import_model("either", either)
    assert client.explain("either").outputs[0].region == "x1 > 1 or x2 < 1"


def test_explaining_changes_nothing_stored(client: Client) -> None:
    client.train("xor", "xor")
    client.import_model("perceptron", PERCEPTRON)
    before = (store_snapshot(client), client.export_model("xor"), client.export_model("perceptron"))
    client.explain("xor")
    client.explain("perceptron", version=1)
    assert (
        store_snapshot(client),
        client.export_model("xor"),
        client.export_model("perceptron"),
    ) == before


def test_explain_errors(client: Client) -> None:
    expect_error(grpc.StatusCode.NOT_FOUND, client.explain, "nothing")
    assert expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.explain, "").startswith("model")
    wide = {  # 16 inputs, 5 outputs: a table of 2^16 x 5 values
        "layers": [
            {
                "weights": {"shape": [16, 5], "values": [0.0] * 80},
                "bias": {"shape": [5], "values": [0.0] * 5},
                "activation": {"name": "sigmoid"},
            }
        ],
        "table": {"inputs": [{"values": [0] * 16}], "outputs": [{"values": [0] * 5}]},
    }
    client.import_model("wide", wide)
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.explain, "wide")
    assert details.startswith("model:") and "262144" in details


def test_cli_explain(client: Client, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    client.train("xor", "xor")
    assert main(["--address", address, "explain", "xor:1"]) == 0
    text = capsys.readouterr().out
    assert "x1 & ~x2 | ~x1 & x2   (exact; 2 products, 4 literals)" in text
    assert "computes parity n=2, xor" in text and "matches it" in text
    assert main(["--address", address, "explain", "xor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outputs"][0]["formula"] == "x1 & ~x2 | ~x1 & x2"
    assert data["model"] == {"name": "xor", "version": 1}
