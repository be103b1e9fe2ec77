"""Model metadata: one writer, one reader, every layout up to the current one."""

from __future__ import annotations

import dataclasses
import json

import pytest
from store_test_support import record

from gatelearn.server.stores import ModelMeta
from gatelearn.server.stores.meta import (
    LAYOUT,
    ComponentMeta,
    History,
    Metrics,
    NewerLayoutError,
    SearchMeta,
    SearchRow,
    TaskMeta,
)

# Every field of layout 2, nested ones included, as the store has written them since that
# layout (then through dataclasses.asdict): the keys in field order, None fields written null
# inside metrics and left out at the top.
WRITTEN = (
    '{"layout": 2, "sizes": [2, 2, 1], "activations": [{"name": "tanh", "params": {"alpha": '
    '1.0}}, {"name": "sigmoid", "params": {}}], "bias": true, "dtype": "float64", "low": 0.0, '
    '"high": 1.0, "task": {"name": "xor", "params": {}, "table": false, "seed": 3}, '
    '"member_seed": 0, "population": 1, "stop_reason": "", "epochs": 2, "metrics": {"loss": '
    '0.1, "accuracy": 1.0, "min_margin": 0.2, "solved": true, "solved_epoch": 2, '
    '"validation_loss": null, "validation_accuracy": null}, "history": {"epochs": [0, 2], '
    '"loss": [0.5, 0.1], "accuracy": [0.5, 1.0]}, "solved_members": 1, '
    '"member_solved_epochs": [2], "recipe": {"seed": 3, "loss": {"name": "bce", "params": {}}}, '
    '"loss": {"name": "bce", "params": {}}, "parent": "", "fresh_optimizer_state": false, '
    '"search": {"rows": [{"index": 0, "hidden": [2], "activation": "tanh", "parameters": 9, '
    '"seeds": 4, "solved": 3, "epochs": 40, "median_epochs": 12, "p90_epochs": 30}], '
    '"answer": 0, "candidates": 5, "target": 0.5}}'
)


def test_written_metadata_is_plain_json_that_reads_back_equal() -> None:
    meta = record("m").meta
    text = json.dumps(meta.to_json(), allow_nan=False)
    assert json.loads(text)["layout"] == 2  # nothing of layout 3's in it: older servers read it
    assert ModelMeta.from_json(json.loads(text)) == meta


def _inline(rows: list[list[float]]) -> TaskMeta:
    """A task of inline rows, as a Train request's `data` makes."""
    return TaskMeta("data", {"inputs": rows, "targets": [[0.0]] * len(rows)}, table=True)


def test_a_recipe_repeating_its_inline_task_is_written_without_its_rows() -> None:
    """Both held the rows: 6.6 MB of them made 27.6 MB of metadata, now 13.8 MB."""
    task = _inline([[0.5, 1.5], [2.5, 3.5]])
    recipe = {"task": {"name": "data", "params": json.loads(json.dumps(task.params))}, "seed": 1}
    meta = dataclasses.replace(record("m").meta, task=task, recipe=recipe)
    text = meta.to_text()
    written = json.loads(text)
    assert (written["layout"], written["recipe"]) == (3, {"task": None, "seed": 1})
    assert text.count("[[0.5, 1.5], [2.5, 3.5]]") == 1
    read = ModelMeta.from_json(written)
    assert read == meta and read.recipe == recipe


@pytest.mark.parametrize(
    "task",
    [TaskMeta("xor"), _inline([[9.0, 9.0]]), TaskMeta("data", _inline([[0.5, 1.5]]).params)],
    ids=["registered", "other-rows", "not-inline"],
)
def test_a_recipe_whose_task_is_not_the_models_inline_task_is_written_whole(task: TaskMeta) -> None:
    recipe = {"task": {"name": "data", "params": _inline([[0.5, 1.5]]).params}, "seed": 1}
    meta = dataclasses.replace(record("m").meta, task=task, recipe=recipe)
    written = meta.to_json()
    assert (written["layout"], written["recipe"]) == (2, recipe)
    assert ModelMeta.from_json(json.loads(meta.to_text())) == meta


def test_a_folded_recipe_task_without_a_model_task_is_refused() -> None:
    data = {**record("m").meta.to_json(), "layout": LAYOUT, "recipe": {"task": None}}
    del data["task"]
    with pytest.raises(ValueError, match="the model records no task"):
        ModelMeta.from_json(data)


def test_metadata_is_written_with_the_keys_and_order_of_its_layout() -> None:
    meta = ModelMeta(
        (2, 2, 1),
        (ComponentMeta("tanh", {"alpha": 1.0}), ComponentMeta("sigmoid")),
        True,
        "float64",
        0.0,
        1.0,
        task=TaskMeta("xor", seed=3),
        epochs=2,
        metrics=Metrics(0.1, 1.0, 0.2, True, 2),
        history=History((0, 2), (0.5, 0.1), (0.5, 1.0)),
        solved_members=1,
        member_solved_epochs=(2,),
        recipe={"seed": 3, "loss": {"name": "bce", "params": {}}},
        loss=ComponentMeta("bce"),
        search=SearchMeta((SearchRow(0, (2,), "tanh", 9, 4, 3, 40, 12, 30),), 0, 5, 0.5),
    )
    assert json.dumps(meta.to_json(), allow_nan=False) == WRITTEN
    assert ModelMeta.from_json(json.loads(WRITTEN)) == meta


def test_a_layout_without_a_number_reads_with_the_training_defaults() -> None:
    data = record("m").meta.to_json()
    for key in ("layout", "population", "history", "metrics", "member_solved_epochs"):
        del data[key]
    meta = ModelMeta.from_json(data)
    assert (meta.population, meta.history.epochs, meta.metrics.solved_epoch) == (1, (), -1)


def test_a_newer_layout_is_refused_as_newer_naming_it() -> None:
    data = {**record("m").meta.to_json(), "layout": LAYOUT + 1}
    with pytest.raises(NewerLayoutError, match=rf"layout {LAYOUT + 1}; this gatelearn reads 0"):
        ModelMeta.from_json(data)


@pytest.mark.parametrize("layout", [-1, "1"])
def test_a_layout_that_is_no_layout_number_is_refused_naming_it(layout: object) -> None:
    data = {**record("m").meta.to_json(), "layout": layout}
    with pytest.raises(ValueError, match=rf"metadata layout {layout!r} is not a layout number"):
        ModelMeta.from_json(data)


def test_a_layout_1_row_reads_without_recipe_and_loss() -> None:
    data = {**record("m").meta.to_json(), "layout": 1}
    meta = ModelMeta.from_json(data)
    assert (meta.recipe, meta.loss) == (None, None)
    recipe = {"task": {"name": "xor", "params": {}}, "seed": 3}
    with_recipe = dataclasses.replace(meta, recipe=recipe, loss=ComponentMeta("mse"))
    assert ModelMeta.from_json(json.loads(json.dumps(with_recipe.to_json()))) == with_recipe


def test_a_search_table_reads_back_and_a_row_without_one_reads_as_none() -> None:
    meta = record("m").meta
    assert "search" not in meta.to_json() and ModelMeta.from_json(meta.to_json()).search is None
    rows = (
        SearchRow(0, (), "", 3, 20, 0, 1000),
        SearchRow(1, (2,), "tanh", 9, 20, 19, 640, median_epochs=63, p90_epochs=91),
    )
    searched = dataclasses.replace(
        meta, search=SearchMeta(rows, answer=1, candidates=73, target=0.95)
    )
    assert ModelMeta.from_json(json.loads(json.dumps(searched.to_json()))) == searched
