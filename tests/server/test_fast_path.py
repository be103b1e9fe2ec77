"""The fast path for large batches: packed rows, the streaming Predict, the model cache, and
population training's distribution of epochs-to-solve."""

from __future__ import annotations

import json
import tracemalloc
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import start_server, wide_output_model
from server_test_support import expect_error

from gatelearn.client import Client, TrainOptions
from gatelearn.client._answers import Answers
from gatelearn.client._chunk_rows import DEFAULT_CHUNK_ROWS
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

ROWS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


@pytest.fixture
def trained(client: Client) -> Client:
    client.train("gate", "xor")
    return client


@pytest.fixture
def stub(address: str) -> gatelearn_pb2_grpc.GateLearnStub:
    return gatelearn_pb2_grpc.GateLearnStub(grpc.insecure_channel(address))


def test_packed_rows_predict_what_plain_rows_predict(trained: Client) -> None:
    plain = trained.predict("gate", ROWS.tolist())
    outputs, labels = trained.predict_array("gate", ROWS)
    assert outputs.dtype == np.float64 and outputs.shape == (4, 1)
    assert outputs.ravel().tolist() == [row[0] for row in plain.outputs]  # bit for bit
    assert labels.ravel().tolist() == [0.0, 1.0, 1.0, 0.0]


def test_float32_rows_come_back_as_float32(trained: Client) -> None:
    outputs, labels = trained.predict_array("gate", ROWS.astype(np.float32))
    assert outputs.dtype == np.float32 and labels.dtype == np.float32
    assert labels.ravel().tolist() == [0.0, 1.0, 1.0, 0.0]


def test_batches_larger_than_a_chunk_stream_in_order(trained: Client) -> None:
    rows = np.random.default_rng(3).integers(0, 2, size=(10_000, 2)).astype(np.float64)
    outputs, labels = trained.predict_array("gate", rows, chunk_rows=999)
    whole, _ = trained.predict_array("gate", rows, chunk_rows=10_000)
    assert outputs.shape == (10_000, 1)
    # BLAS may block a 999-row product differently from a 10000-row one: last-bit agreement.
    np.testing.assert_allclose(outputs, whole, rtol=1e-12, atol=0)
    assert np.array_equal(labels.ravel(), np.logical_xor(rows[:, 0], rows[:, 1]).astype(float))


def _chunked_rows() -> np.ndarray:
    """10,321 distinct rows: ten 1000-row chunks and a short one (over the small-batch size)."""
    return np.random.default_rng(7).uniform(-2, 2, size=(10_321, 2))


def test_several_streams_answer_what_network_predict_does_in_row_order(
    trained: Client, server: RunningServer
) -> None:
    rows = _chunked_rows()
    network = server.service.models.cache.get("gate").network
    # Network.predict on the same chunks: the same products, so the same bits.
    expected = np.concatenate([network.predict(rows[i : i + 1000]) for i in range(0, 10_321, 1000)])
    for streams in (1, 2, 3, 16):
        outputs, labels = trained.predict_array("gate", rows, chunk_rows=1000, streams=streams)
        assert np.array_equal(outputs, expected[..., 0]), streams
        assert np.array_equal(labels, (outputs > 0.5).astype(float)), streams


@pytest.mark.parametrize("streams", [3, 1])
def test_the_first_bad_chunk_is_named_and_nothing_returned(trained: Client, streams: int) -> None:
    """Three streams carry chunks 0-2, 3-6 and 7-10 (one stream, carried by the calling thread,
    all of them): chunk 5 and chunk 8 are bad; chunk 5 is named by its index in the whole
    call, whichever fails first."""
    rows = _chunked_rows()

    def failure() -> str:
        return expect_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            trained.predict_array,
            "gate",
            rows,
            chunk_rows=1000,
            streams=streams,
        )

    rows[5_005, 1], rows[8_003, 0] = np.nan, np.inf
    assert failure().startswith("requests[5].packed.data: row 5: values must be finite")
    rows[5_005, 1] = 0.0
    assert failure().startswith("requests[8].packed.data: row 3: values must be finite")
    rows[8_003, 0] = 0.0
    outputs, _ = trained.predict_array("gate", rows, chunk_rows=1000, streams=streams)
    assert outputs.shape == (10_321, 1)


def test_the_default_chunks_answer_what_network_predict_does(
    trained: Client, server: RunningServer
) -> None:
    """Two chunks and a short third at the defaults (one stream, carried by the calling
    thread): the same bits as Network.predict on those chunks, in row order."""
    rows = np.random.default_rng(11).uniform(-2, 2, size=(2 * DEFAULT_CHUNK_ROWS + 7, 2))
    network = server.service.models.cache.get("gate").network
    starts = range(0, len(rows), DEFAULT_CHUNK_ROWS)
    expected = np.concatenate([network.predict(rows[i : i + DEFAULT_CHUNK_ROWS]) for i in starts])
    outputs, labels = trained.predict_array("gate", rows)
    assert np.array_equal(outputs, expected[..., 0])
    assert np.array_equal(labels, (outputs > 0.5).astype(float))


def test_the_default_chunks_shrink_to_fit_a_wide_model_under_max_activations(
    tmp_path: Path,
) -> None:
    """DEFAULT_CHUNK_ROWS rows x a model's units may exceed the server's max_activations (at the
    default limit, from 489 units): the call then goes again in chunks that fit, and an explicit
    chunk_rows is kept, and refused, as given."""
    limit = 100_000  # 65536 rows x 9 units of the 2-8-1 model would be 589,824
    running = start_server(tmp_path / "data", limits=Limits(max_activations=limit))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("gate", "xor")
            inputs = np.random.default_rng(5).random((30_000, 2))
            outputs, _ = client.predict_array("gate", inputs)
            network = running.service.models.cache.get("gate").network
            fits = limit // 9  # rows per chunk: the same bits as Network.predict on each
            starts = range(0, len(inputs), fits)
            expected = np.concatenate([network.predict(inputs[i : i + fits]) for i in starts])
            assert np.array_equal(outputs, expected[..., 0])
            details = expect_error(
                grpc.StatusCode.INVALID_ARGUMENT,
                client.predict_array,
                "gate",
                inputs,
                chunk_rows=20_000,
            )
            assert "at most 100000 (limit max_activations)" in details
    finally:
        running.stop(0)


@pytest.mark.parametrize(
    ("limits", "client_bytes", "outputs", "rows"),
    [
        # The server's answer bound: 5000 rows x 64 float64 outputs are 2.6 MB.
        (Limits(max_message_bytes=1 << 20), 16 << 20, 64, 5000),
        # This client's own receiving limit: gRPC refused the server's 1 MB answer.
        (Limits(), 1 << 16, 64, 2000),
        # The server's receiving limit: 70,000 rows of 2 float64 inputs are a 1.1 MB request.
        (Limits(max_message_bytes=1 << 20), 16 << 20, 1, 70_000),
        (Limits(max_predict_rows=1000), 16 << 20, 1, 3000),
        # Not refused: a chunk whose request this client could not send is never made.
        (Limits(), 1 << 16, 1, 10_000),
    ],
    ids=["answer", "client-receiving", "server-receiving", "max_predict_rows", "client-sending"],
)
def test_the_default_chunks_shrink_to_fit_a_refusal_that_names_the_size(
    tmp_path: Path, limits: Limits, client_bytes: int, outputs: int, rows: int
) -> None:
    """A chunk refused as too large, by a limit its refusal names, goes again in chunks that fit:
    65536-row chunks of a model with more than about 31 float64 outputs had their answers
    refused at the default max_message_bytes. A request is cut to fit this client's limit."""
    running = start_server(tmp_path / "data", limits=limits)
    inputs = np.random.default_rng(6).uniform(-2, 2, size=(rows, 2))
    try:
        with Client(f"127.0.0.1:{running.port}", max_message_bytes=client_bytes) as client:
            client.import_model("wide", wide_output_model(outputs))
            outputs_got, labels = client.predict_array("wide", inputs)
            network = running.service.models.cache.get("wide").network
    finally:
        running.stop(0)
    expected = network.predict(inputs)[..., 0]
    np.testing.assert_allclose(outputs_got, expected, rtol=1e-12)
    assert np.array_equal(labels, (outputs_got > 0.5).astype(float))


def test_chunks_that_fitted_a_model_are_where_the_next_call_starts(tmp_path: Path) -> None:
    """Each call on a wide model paid one refused attempt before its chunks fitted; the client
    now keeps what fitted, so only the first call is refused (counted by the server)."""
    running = start_server(
        tmp_path / "data", limits=Limits(max_message_bytes=1 << 20), metrics_address="127.0.0.1:0"
    )
    inputs = np.random.default_rng(7).uniform(-2, 2, size=(5000, 2))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.import_model("wide", wide_output_model(64))
            first, _ = client.predict_array("wide", inputs)
            again, _ = client.predict_array("wide", inputs)
        assert running.metrics is not None
        url = f"http://127.0.0.1:{running.metrics.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        running.stop(0)
    np.testing.assert_array_equal(first, again)
    refused = [
        line
        for line in text.splitlines()
        if line.startswith("gatelearn_rpc_total{") and 'code="INVALID_ARGUMENT"' in line
    ]
    assert len(refused) == 1 and refused[0].endswith(" 1.0"), refused


@pytest.mark.parametrize("version", [-1, 2**32])
def test_a_version_out_of_range_is_refused_before_any_stream_opens(
    trained: Client, version: int
) -> None:
    """It raised GateLearnError UNKNOWN ("Exception iterating requests!") over several streams."""
    for chunk_rows in (4, 1):  # one request, then four over two streams
        with pytest.raises(ValueError, match="out of range"):
            trained.predict_array("gate", ROWS, chunk_rows=chunk_rows, version=version)


def test_small_batches_from_many_threads_answer_what_one_large_batch_does(
    trained: Client, address: str
) -> None:
    """Small Predicts run passes each server thread prepares once and reuses; threads sending
    different row counts at once must each get their own rows' outputs."""
    rows = np.random.default_rng(5).uniform(-2, 2, size=(1000, 2))
    expected, _ = trained.predict_array("gate", rows)  # over the small-batch size
    counts = [1, 4, 64, 65, 3, 4, 1, 17]

    def check(thread: int) -> int:
        with Client(address) as client:
            for call in range(40):
                count = counts[(thread + call) % len(counts)]
                start = (thread * 97 + call * 13) % (len(rows) - count)
                got = client.predict("gate", rows[start : start + count].tolist()).outputs
                np.testing.assert_allclose(
                    got, expected[start : start + count], rtol=1e-12, atol=1e-15
                )
        return thread

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(check, range(8))) == list(range(8))


def _packed(rows: np.ndarray, **changes: object) -> pb.PackedRows:
    fields = {"data": rows.astype("<f8").tobytes(), "shape": list(rows.shape), "dtype": ""}
    fields.update(changes)
    return pb.PackedRows(**fields)


@pytest.mark.parametrize(
    ("packed", "field"),
    [
        (_packed(ROWS, data=ROWS.astype("<f8").tobytes()[:-1]), "packed.data"),
        (_packed(ROWS, shape=[4]), "packed.shape"),
        (_packed(ROWS[:, :1]), "packed.shape"),
        (_packed(ROWS, dtype="int8"), "packed.dtype"),
        (_packed(np.array([[0.0, np.nan]])), "packed.data"),
        (_packed(ROWS, shape=[0, 2], data=b""), "packed.shape"),
    ],
    ids=["short-data", "one-dimension", "wrong-width", "dtype", "nan", "no-rows"],
)
def test_malformed_packed_rows_are_invalid_argument(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub, packed: pb.PackedRows, field: str
) -> None:
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        stub.Predict,
        pb.PredictRequest(model="gate", packed=packed),
    )
    assert details.startswith(field), details


def test_a_request_for_label_bits_is_answered_bits_and_no_packed_labels(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    answer = stub.Predict(pb.PredictRequest(model="gate", packed=_packed(ROWS), label_bits=True))
    assert not answer.HasField("packed_labels")
    assert list(answer.label_bits.shape) == [4, 1]
    assert answer.label_bits.bits == bytes([0b0110_0000])  # XOR's 0, 1, 1, 0, then padding
    assert (answer.label_bits.low, answer.label_bits.high) == (0.0, 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_labels_read_from_bits_are_those_an_older_client_gets_packed(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub, dtype: type
) -> None:
    """A -1/+1 model, 1001 rows (not a whole number of bytes of bits), over two streams: the
    labels predict_array reads from bits equal the packed labels a request without
    label_bits gets, value for value and in the same dtype."""
    client.train(
        "signs",
        ("region", {"points": 60, "labels": "sign"}),
        loss="mse",
        activations=["tanh", "tanh"],
        seed=3,
        options=TrainOptions(epochs=300),
    )
    rows = np.random.default_rng(5).uniform(-4, 6, size=(1001, 2)).astype(dtype)
    _, labels = client.predict_array("signs", rows, chunk_rows=600)
    packed = pb.PackedRows(data=rows.tobytes(), shape=list(rows.shape), dtype=np.dtype(dtype).name)
    whole = stub.Predict(pb.PredictRequest(model="signs", packed=packed))
    assert not whole.HasField("label_bits")
    expected = np.frombuffer(whole.packed_labels.data, dtype=dtype).reshape(1001, 1)
    assert labels.dtype == dtype
    assert np.array_equal(labels, expected)
    assert set(np.unique(labels)) == {-1.0, 1.0}


def test_packed_labels_of_a_server_that_predates_label_bits_are_read_as_they_were(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    """Such a server answers every request as it answers one without label_bits."""
    rows = np.random.default_rng(9).uniform(-1, 2, size=(300, 2))
    answered = [
        stub.Predict(pb.PredictRequest(model="gate", packed=_packed(part)))
        for part in (rows[:100], rows[100:])
    ]
    assert not any(response.HasField("label_bits") for response in answered)
    answers = Answers(300, np.dtype(np.float64))
    for start, response in zip((0, 100), answered, strict=True):
        answers.add(start, response)
    outputs, labels = answers.arrays()
    expected_outputs, expected_labels = trained.predict_array("gate", rows, chunk_rows=100)
    assert np.array_equal(outputs, expected_outputs)
    assert np.array_equal(labels, expected_labels)
    assert set(np.unique(labels)) == {0.0, 1.0}


def test_rows_and_packed_together_are_refused(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    request = pb.PredictRequest(model="gate", rows=[pb.Row(values=[0, 1])], packed=_packed(ROWS))
    assert expect_error(grpc.StatusCode.INVALID_ARGUMENT, stub.Predict, request).startswith("rows")


def test_a_stream_serves_one_model(trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    trained.train("other", "and")
    requests = [
        pb.PredictRequest(model="gate", packed=_packed(ROWS)),
        pb.PredictRequest(model="other", packed=_packed(ROWS)),
    ]
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: list(stub.PredictStream(iter(requests)))
    )
    assert details.startswith("requests[1].model"), details


def test_deleted_models_are_not_served_from_the_cache(
    trained: Client, server: RunningServer
) -> None:
    trained.predict("gate", ROWS.tolist())
    assert len(server.service.models.cache) == 1
    trained.delete("gate")
    expect_error(grpc.StatusCode.NOT_FOUND, trained.predict, "gate", ROWS.tolist())
    retrained = trained.train("gate", "and")
    assert retrained.model.version == 2
    assert trained.predict("gate", ROWS.tolist()).labels == [[0.0], [0.0], [0.0], [1.0]]


def test_a_model_trained_on_inline_rows_is_loaded_with_one_copy_of_them(
    client: Client, server: RunningServer
) -> None:
    """Its task and its recipe both hold the rows; serving reads only the task's. A cold load
    read both from the store and kept both (a model trained on 6.6 MB of rows peaked at 94 MB
    and held 60 MB in the cache; now 51 and 30). GetModel and ExportModel still answer the
    whole recipe, from the store."""
    rng = np.random.default_rng(8)
    inputs, targets = rng.normal(size=(3000, 16)), rng.integers(0, 2, size=(3000, 4))
    client.train("rows", data=(inputs, targets), hidden=[2], options=TrainOptions(epochs=1))
    tracemalloc.start()
    try:
        one_copy = json.loads(json.dumps([inputs.tolist(), targets.tolist()]))
        one_copy_bytes = tracemalloc.get_traced_memory()[0]
        del one_copy
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        client.predict("rows", inputs[:1].tolist())  # the cold load
        kept, peak = (traced - before for traced in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    assert len(server.service.models.cache) == 1
    assert kept < 1.5 * one_copy_bytes, (kept, one_copy_bytes)  # 2.3 times with both
    assert peak < 2.6 * one_copy_bytes, (peak, one_copy_bytes)  # 3.6 times read twice
    assert len(client.evaluate("rows").rows) == 3000  # the task's rows, from the cache
    assert client.model("rows").recipe["task"]["params"]["inputs"] == inputs.tolist()
    assert len(client.export_model("rows")["recipe"]["task"]["params"]["inputs"]) == 3000


def test_a_new_version_is_served_as_the_latest(trained: Client) -> None:
    assert trained.predict("gate", ROWS.tolist()).model.version == 1
    trained.train("gate", "and")
    answer = trained.predict("gate", ROWS.tolist())
    assert answer.model.version == 2
    assert answer.labels == [[0.0], [0.0], [0.0], [1.0]]
    assert trained.predict("gate", ROWS.tolist(), version=1).labels == [[0.0], [1.0], [1.0], [0.0]]


def test_population_reports_every_members_epochs_to_solve(client: Client) -> None:
    outcome = client.train("pop", "xor", population=32, seed=11)
    epochs = outcome.member_solved_epochs
    assert len(epochs) == 32
    assert sum(e >= 0 for e in epochs) == outcome.solved_members
    assert epochs[outcome.member] >= 0
    assert max(epochs) == outcome.epochs  # the run stops when the last member is solved
