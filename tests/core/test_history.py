"""A training's history: recorded every `record_every` epochs, thinned evenly past `max_records`,
the final epoch always kept, so a long run's history stays small and still spans the run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import train_prepared

from gatelearn.core import AUTO_RECORDS, TrainConfig
from gatelearn.core.recorder import FIRST_CAPACITY
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare

EPOCHS = 3001  # odd, so the final epoch is off the thinned grid


# Limits beside the recorder's first capacity too: its arrays grow to the limit, not past it.
@pytest.mark.parametrize("max_records", [FIRST_CAPACITY - 1, FIRST_CAPACITY + 1, 100])
@pytest.mark.parametrize("batch_size", [0, 3], ids=["full_batch", "minibatch"])
def test_a_long_history_is_thinned_evenly_keeping_the_final_epoch(
    registry: Registry, batch_size: int, max_records: int
) -> None:
    config = TrainConfig(
        epochs=EPOCHS, record_every=1, stop_when_solved=False, batch_size=batch_size
    )
    full = train_prepared(prepare(Recipe(config=config), registry)).history
    thin_config = replace(config, max_records=max_records)
    thinned = train_prepared(prepare(Recipe(config=thin_config), registry)).history
    assert len(full.epochs) == EPOCHS + 1
    assert max_records // 2 <= len(thinned.epochs) <= max_records
    assert thinned.epochs[0] == 0 and thinned.epochs[-1] == EPOCHS
    assert len(set(np.diff(thinned.epochs[:-1]).tolist())) == 1  # evenly spaced
    # The kept points are the same epochs' values, not averages or a different run.
    np.testing.assert_array_equal(thinned.loss, full.loss[thinned.epochs])
    np.testing.assert_array_equal(thinned.accuracy, full.accuracy[thinned.epochs])


def test_by_default_a_short_run_records_every_epoch(registry: Registry) -> None:
    result = train_prepared(prepare(Recipe(), registry))  # XOR, solved within a few dozen
    assert result.stop_reason == "solved" and result.epochs < AUTO_RECORDS
    assert result.history.epochs.tolist() == list(range(result.epochs + 1))


def test_by_default_a_long_run_keeps_a_thinned_evenly_spaced_curve(registry: Registry) -> None:
    config = TrainConfig(epochs=EPOCHS, stop_when_solved=False)
    history = train_prepared(prepare(Recipe(config=config), registry)).history
    assert AUTO_RECORDS // 2 <= len(history.epochs) <= AUTO_RECORDS
    assert history.epochs[0] == 0 and history.epochs[-1] == EPOCHS
    assert len(set(np.diff(history.epochs[:-1]).tolist())) == 1
    # Under a server limit lower than the default's, the limit wins.
    limited = replace(config, max_records=40)
    assert 20 <= len(train_prepared(prepare(Recipe(config=limited), registry)).history.epochs) <= 40


def test_recorded_accuracy_is_each_members_share_of_rows_with_every_output_right(
    registry: Registry,
) -> None:
    config = TrainConfig(epochs=40, stop_when_solved=False)
    prepared = prepare(Recipe(task=Choice("full_adder"), population=6, config=config), registry)
    result = train_prepared(prepared)
    data = prepared.data
    outputs = result.network.predict(data.inputs)  # (rows, outputs, members)
    on_side = (outputs > data.threshold) == (data.targets > data.threshold)[:, :, None]
    assert result.accuracy.tolist() == on_side.all(axis=1).mean(axis=0).tolist()
    assert result.history.accuracy[-1].tolist() == result.accuracy.tolist()


def test_a_run_checking_for_solved_records_what_a_run_without_the_check_records(
    registry: Registry,
) -> None:
    # The check's signed distances are reused for the recorded accuracy: it must be that
    # epoch's, member by member, as a run computing it afresh records. Members freeze as they
    # solve (handed back as they were then) but go on computing, so only the final record,
    # made after they are put back, may differ.
    checked_config = TrainConfig(epochs=300)
    recipe = Recipe(task=Choice("full_adder"), population=6, config=checked_config)
    checked = train_prepared(prepare(recipe, registry))
    assert (checked.solved_epoch >= 0).any()  # some member's check did fire
    epochs = checked.epochs
    plain_config = replace(checked_config, epochs=epochs, stop_when_solved=False)
    plain = train_prepared(prepare(replace(recipe, config=plain_config), registry))
    assert checked.history.epochs.tolist() == plain.history.epochs.tolist()
    np.testing.assert_array_equal(checked.history.loss[:-1], plain.history.loss[:-1])
    np.testing.assert_array_equal(checked.history.accuracy[:-1], plain.history.accuracy[:-1])
    assert len(set(map(tuple, checked.history.accuracy[:-1].tolist()))) > 3  # it moved
