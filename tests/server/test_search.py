"""Search through a real server: known smallest networks, the table as it fills, the saved
answer, cancel and deadlines, and the limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from conftest import start_server
from server_test_support import expect_error, store_snapshot, train_when_slot_free
from test_train_stream import one_slot, one_slot_client  # noqa: F401  (fixtures)

from gatelearn.client import (
    Client,
    SearchCandidate,
    SearchProgress,
    SearchResult,
    TrainOptions,
)
from gatelearn.server.app import RunningServer
from gatelearn.server.edge.nesting import MAX_LISTED
from gatelearn.server.edge.searches import MAX_ACTIVATIONS
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

SMALL = {"seeds": 20, "options": TrainOptions(epochs=1000)}
LONG = TrainOptions(epochs=1_000_000, progress_interval_ms=10)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the known answers, which only add models."""
    running = start_server(tmp_path_factory.mktemp("search"))
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def shared_client(shared: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{shared.port}") as client:
        yield client


def result_of(events: Iterator[object]) -> tuple[list[object], SearchResult]:
    *streamed, result = list(events)
    assert isinstance(result, SearchResult)
    return streamed, result


@pytest.mark.parametrize("gate", ["and", "or", "nand", "nor", "implies", "not"])
def test_linearly_separable_gates_need_no_hidden_layer(shared_client: Client, gate: str) -> None:
    _, result = result_of(shared_client.search(f"small-{gate}", gate, **SMALL))
    assert result.answer is not None and result.answer.hidden == []
    assert [row.index for row in result.table] == [0]  # certain at once: nothing ran after it
    assert result.answer.solved_share >= 0.95 and result.model is not None
    assert shared_client.model(result.model.name).summary.metrics.solved


@pytest.mark.parametrize("gate", ["xor", "xnor"])
def test_xor_and_xnor_need_two_units_one_monotone_unit_solves_no_seed(
    shared_client: Client, gate: str
) -> None:
    streamed, result = result_of(
        shared_client.search(
            f"small-{gate}",
            gate,
            max_depth=1,
            widths=[1, 2, 3, 4, 8],
            activations=["tanh", "relu"],
            target=0.5,
            **SMALL,
        )
    )
    rows = [event for event in streamed if isinstance(event, SearchCandidate)]
    assert rows == result.table  # the table streamed as it filled
    assert [row.index for row in rows] == list(range(len(rows)))
    sizes = [(row.parameters, len(row.hidden)) for row in rows]
    assert sizes == sorted(sizes)
    one_unit = [row for row in rows if sum(row.hidden) <= 1]
    assert {(tuple(r.hidden), r.activation) for r in one_unit} == {
        ((), ""),
        ((1,), "tanh"),
        ((1,), "relu"),
    }
    assert all(row.solved == 0 and row.median_epochs is None for row in one_unit)
    answer = result.answer
    assert answer is not None and answer == rows[-1] and sum(answer.hidden) >= 2
    assert answer.solved_share >= 0.5 and answer.median_epochs is not None
    assert answer.median_epochs <= answer.p90_epochs <= answer.epochs  # type: ignore[operator]
    assert result.model is not None
    evaluation = shared_client.evaluate(result.model.name, version=result.model.version)
    assert evaluation.accuracy == 1.0
    detail = shared_client.model(result.model.name, version=result.model.version)
    assert detail.search == result  # stored with the model, shown by GetModel
    assert detail.summary.sizes == [2, *answer.hidden, 1]


def test_progress_names_the_running_candidate(shared_client: Client) -> None:
    """Progress is sent by time: the candidates without hidden units or with one never solve
    XOR, so each runs all of its 20000 epochs, far longer than the 10 ms interval (300 epochs
    once sent none after the training loop got faster)."""
    streamed, result = result_of(
        shared_client.search(
            "progress-xor",
            "xor",
            max_depth=1,
            widths=[1, 2],
            seeds=8,
            options=TrainOptions(epochs=20_000, progress_interval_ms=10),
        )
    )
    progress = [event for event in streamed if isinstance(event, SearchProgress)]
    assert progress and {event.candidates for event in progress} == {result.candidates}
    assert {event.index for event in progress} <= {row.index for row in result.table}
    assert all(event.training.population == 8 for event in progress)


def test_no_candidate_reaching_the_target_answers_the_whole_table_and_saves_nothing(
    shared_client: Client,
) -> None:
    _, result = result_of(
        shared_client.search(
            "never", "xor", max_depth=1, widths=[1], seeds=4, options=TrainOptions(epochs=200)
        )
    )
    assert result.answer is None and result.model is None
    assert len(result.table) == result.candidates == 2
    assert shared_client.models("never") == []


def test_cancel_stops_a_search_promptly_and_saves_nothing(
    one_slot_client: Client,  # noqa: F811
) -> None:
    events = one_slot_client.search("long", "xor", max_depth=1, widths=[1], seeds=20, options=LONG)
    assert isinstance(next(events), SearchProgress)
    started = time.monotonic()
    events.close()  # cancels the call
    outcome = train_when_slot_free(one_slot_client, "after", options=TrainOptions(epochs=0))
    assert time.monotonic() - started < 5.0  # generous: a cancel stops within about 0.1 s
    assert str(outcome.model) == "after:1"
    assert one_slot_client.models("long") == []


def test_deadline_stops_a_search_and_saves_nothing(
    one_slot: RunningServer,  # noqa: F811
    one_slot_client: Client,  # noqa: F811
) -> None:
    request = one_slot_client.search_request(
        "late", "xor", max_depth=1, widths=[1], seeds=20, options=LONG
    )
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.port}") as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        expect_error(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: stub.Search(request, timeout=0.5))
    train_when_slot_free(one_slot_client, "after", options=TrainOptions(epochs=0))
    assert one_slot_client.models("late") == []


def test_a_search_sent_again_with_its_request_id_answers_the_saved_model_at_once(
    shared_client: Client,
) -> None:
    """A search whose answer was saved but whose last event was lost can be sent again: the
    retry trains nothing and saves nothing new (a Search kept no request id, so a retry saved a
    second version). The id sent for another model, or taken by a Train, is refused."""
    request = shared_client.search_request("retry-s", "and", request_id="search-1", **SMALL)
    _, first = result_of(shared_client.search_events(request))
    streamed, again = result_of(shared_client.search_events(request))
    assert streamed == []  # no candidate ran
    assert (again.model, again.answer, again.table) == (first.model, first.answer, first.table)
    assert first.model is not None
    assert [m.version for m in shared_client.models("retry-s")] == [first.model.version]
    shared_client.train("retry-t", "and", request_id="train-1")
    for name, request_id, says in (
        ("retry-u", "search-1", "'search-1' already saved retry-s:1; a retry names the same"),
        ("retry-t", "train-1", "'train-1' already saved retry-t:1 by a Train, not a Search"),
    ):
        other = shared_client.search_request(name, "and", request_id=request_id, **SMALL)
        details = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT, lambda r=other: list(shared_client.search_events(r))
        )
        assert details.startswith(f"base.request_id: {says}"), details
    assert shared_client.models("retry-u") == []
    assert [m.version for m in shared_client.models("retry-t")] == [1]


def test_an_oversized_search_is_refused_naming_the_limit(client: Client) -> None:
    before = store_snapshot(client)
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: list(client.search("big", "xor", seeds=1000, options=TrainOptions(epochs=100_000))),
    )
    assert details.startswith("seeds: ") and "max_search_network_epochs" in details
    assert "73 candidates x 1000 seeds x 100000 epochs" in details
    assert store_snapshot(client) == before


def _add_tanh_then(name: str) -> Callable[[pb.SearchRequest], object]:
    return lambda r: r.activations.extend(
        [pb.ComponentRef(name="tanh"), pb.ComponentRef(name=name)]
    )


BAD_FIELDS: list[tuple[Callable[[pb.SearchRequest], object], str]] = [
    (lambda r: r.base.hidden.units.append(2), "base.hidden"),
    (lambda r: setattr(r.base, "population", 4), "base.population"),
    (lambda r: r.base.activations.add(name="tanh"), "base.activations"),
    (lambda r: setattr(r.base, "request_id", "has space"), "base.request_id"),
    (lambda r: setattr(r.base.options, "stop_when_solved", False), "base.options.stop_when_solved"),
    (lambda r: setattr(r.base.options, "epochs", 2_000_000), "base.options.epochs"),
    (lambda r: r.base.loss.CopyFrom(pb.ComponentRef(name="nope")), "base.loss"),
    (lambda r: r.base.ClearField("model_name"), "base.model_name"),
    (lambda r: r.widths.extend([2, 0]), "widths[1]"),
    (lambda r: setattr(r, "max_depth", 8), "max_depth"),
    (lambda r: setattr(r, "target", 1.5), "target"),
    (lambda r: setattr(r, "target", 0.0), "target"),
    (lambda r: setattr(r, "seeds", 5000), "seeds"),
    (_add_tanh_then("nope"), "activations[1]"),
    (lambda r: r.output_activation.CopyFrom(pb.ComponentRef(name="nope")), "output_activation"),
]


@pytest.mark.parametrize(("spoil", "field"), BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
def test_bad_fields_are_named(
    shared_client: Client, spoil: Callable[[pb.SearchRequest], object], field: str
) -> None:
    request = shared_client.search_request("bad", "xor", seeds=4)
    spoil(request)
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: list(shared_client.search_events(request))
    )
    assert details.startswith(f"{field}: ") or details.startswith(f"{field}."), details
    assert shared_client.models("bad") == []


def test_a_search_listing_more_activations_than_it_checks_is_refused(
    shared_client: Client,
) -> None:
    # Each activation was checked with the whole base even where no candidate uses it: 10^6 of
    # them at max_depth 0 held a server thread for 76 s (and far longer with inline rows).
    # A flood of them is now refused on the request's bytes, before they are parsed.
    request = shared_client.search_request("many", "xor", seeds=4)
    request.max_depth = 0
    request.activations.extend([pb.ComponentRef(name="relu")] * 100_000)
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: list(shared_client.search_events(request))
    )
    assert details == f"activations: at most {MAX_LISTED} entries (limit max_listed_components)"
    del request.activations[MAX_LISTED:]
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: list(shared_client.search_events(request))
    )
    assert details == f"activations: at most {MAX_ACTIVATIONS}, got {MAX_LISTED}"
    del request.activations[MAX_ACTIVATIONS:]
    *_, result = shared_client.search_events(request)
    assert isinstance(result, SearchResult) and result.candidates == 1


def test_an_unknown_task_is_not_found(shared_client: Client) -> None:
    expect_error(grpc.StatusCode.NOT_FOUND, lambda: list(shared_client.search("x", "nope")))


def test_a_raw_stub_search_ends_with_done(shared: RunningServer) -> None:
    request = pb.SearchRequest(
        base=pb.TrainRequest(model_name="raw", task=pb.ComponentRef(name="or")), seeds=10
    )
    with grpc.insecure_channel(f"127.0.0.1:{shared.port}") as channel:
        events = list(gatelearn_pb2_grpc.GateLearnStub(channel).Search(request))
    assert [e.WhichOneof("event") for e in events][-2:] == ["candidate", "done"]
    assert events[-1].done.model.name == "raw" and events[-1].done.answer == 0
