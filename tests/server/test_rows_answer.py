"""A Predict of rows is answered with bytes the server writes itself (edge/encoded.py): they
must parse to the very PredictResponse a message built from the model's own forward pass is,
for any dtype, activation, label values and width (a Row head over one byte long too)."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from gatelearn.client import Client
from gatelearn.core import ForwardPass
from gatelearn.server.app import RunningServer
from gatelearn.server.models.servable import SMALL_BATCH
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

WIDE = 17  # outputs: a Row of 17 doubles is 136 bytes, whose length takes two varint bytes
# Row counts on both sides of the small-batch path (a pass prepared per thread, then predict).
ROW_COUNTS = [1, 4, SMALL_BATCH, SMALL_BATCH + 1, 300]


def _train_models(client: Client) -> dict[str, int]:
    """Models of several kinds, by name, with their input counts."""
    client.train("f64", "xor", epochs=50)
    client.train("f32", "xor", dtype="float32", epochs=50)
    client.train(
        "signs",
        ("region", {"points": 60, "labels": "sign"}),
        loss="mse",
        activations=["relu", "tanh"],
        epochs=50,
    )
    bits = np.random.default_rng(1).integers(0, 2, size=(8, WIDE)).tolist()
    inputs = [[(row >> k) & 1 for k in range(3)] for row in range(8)]
    table = ("table", {"inputs": inputs, "outputs": bits})
    client.train("wide", table, activations=["swish", "sigmoid"], epochs=50)
    return {"f64": 2, "f32": 2, "signs": 2, "wide": 3}


def _expected(server: RunningServer, name: str, rows: np.ndarray) -> pb.PredictResponse:
    """The answer as messages, from the model's forward pass run here: a pass prepared as the
    server's small batches are, or Network.predict for more rows."""
    model = server.service.models.cache.get(name)
    network = model.network
    inputs = rows.astype(network.dtype)
    if len(rows) <= SMALL_BATCH:
        forward = ForwardPass(network, inputs, keep_gil=True)
        with np.errstate(over="ignore", under="ignore"):
            forward.run()
        outputs = forward.output[..., 0].astype(np.float64)
    else:
        outputs = np.asarray(network.predict(inputs)[..., 0], dtype=np.float64)
    labels = np.where(outputs > model.threshold, model.high, model.low)
    return pb.PredictResponse(
        model=pb.ModelRef(name=name, version=model.record.version),
        threshold=model.threshold,
        outputs=[pb.Row(values=row) for row in outputs.tolist()],
        labels=[pb.Row(values=row) for row in labels.tolist()],
    )


def test_rows_are_answered_what_the_models_forward_pass_gives_bit_for_bit(
    client: Client, server: RunningServer, address: str
) -> None:
    widths = _train_models(client)
    rng = np.random.default_rng(2)
    with grpc.insecure_channel(address) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        for name, width in widths.items():
            for count in ROW_COUNTS:
                rows = rng.uniform(-3, 3, size=(count, width))
                request = pb.PredictRequest(model=name, rows=[pb.Row(values=r) for r in rows])
                answer = stub.Predict(request)
                assert answer == _expected(server, name, rows), (name, count)
    labels = {value for row in answer.labels for value in row.values}
    assert len(answer.outputs[0].values) == WIDE and labels <= {0.0, 1.0}


@pytest.mark.parametrize("count", [3, SMALL_BATCH + 5])
def test_a_stream_of_rows_is_answered_as_unary_calls_are(
    client: Client, address: str, count: int
) -> None:
    """PredictStream answers rows with the same encoded bytes."""
    client.train("gate", "xor", epochs=50)
    rows = np.random.default_rng(4).uniform(-1, 2, size=(count, 2))
    request = pb.PredictRequest(model="gate", rows=[pb.Row(values=r) for r in rows])
    with grpc.insecure_channel(address) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        streamed = list(stub.PredictStream(iter([request, pb.PredictRequest(rows=request.rows)])))
        assert streamed == [stub.Predict(request)] * 2


def _expected_packed(
    server: RunningServer, name: str, rows: np.ndarray, dtype: str, bits: bool
) -> pb.PredictResponse:
    """A packed answer as messages, from the model's Network.predict run here."""
    model = server.service.models.cache.get(name)
    outputs = np.asarray(model.network.predict(rows)[..., 0], dtype=np.float64)
    above = outputs > model.threshold
    answer = pb.PredictResponse(
        model=pb.ModelRef(name=name, version=model.record.version), threshold=model.threshold
    )
    answer.packed_outputs.CopyFrom(
        pb.PackedRows(data=outputs.astype(dtype).tobytes(), shape=outputs.shape, dtype=dtype)
    )
    if bits:
        answer.label_bits.CopyFrom(
            pb.LabelBits(
                bits=np.packbits(above).tobytes(),
                shape=above.shape,
                low=model.low,
                high=model.high,
            )
        )
    else:
        labels = np.where(above, model.high, model.low).astype(dtype)
        answer.packed_labels.CopyFrom(
            pb.PackedRows(data=labels.tobytes(), shape=labels.shape, dtype=dtype)
        )
    return answer


@pytest.mark.parametrize("bits", [True, False], ids=["label bits", "packed labels"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_packed_rows_are_answered_what_the_models_forward_pass_gives_bit_for_bit(
    client: Client, server: RunningServer, address: str, dtype: str, bits: bool
) -> None:
    """Packed answers are written as bytes too (edge/encoded.py): the same response a message
    holding the forward pass's outputs is, for outputs over a byte long and 17 outputs a row."""
    widths = _train_models(client)
    rng = np.random.default_rng(3)
    with grpc.insecure_channel(address) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        for name, width in widths.items():
            for count in (1, 300):
                rows = rng.uniform(-3, 3, size=(count, width)).astype(dtype)
                packed = pb.PackedRows(data=rows.tobytes(), shape=rows.shape, dtype=dtype)
                request = pb.PredictRequest(model=name, packed=packed, label_bits=bits)
                answer = stub.Predict(request)
                expected = _expected_packed(server, name, rows.astype(np.float64), dtype, bits)
                assert answer == expected, (name, count)
