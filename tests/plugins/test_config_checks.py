"""A recipe's training settings: each one refused names itself, never a neighbour.

Regression: a negative `record_every` was reported as "patience". A Train request cannot send
one (the proto field is unsigned), so this is checked where the library API meets it.
"""

from __future__ import annotations

import dataclasses

import pytest

from gatelearn.core import ParamError, TrainConfig
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Recipe, check


@pytest.mark.parametrize("name", ["epochs", "batch_size", "patience", "record_every"])
def test_negative_count_names_its_own_field(registry: Registry, name: str) -> None:
    config = dataclasses.replace(TrainConfig(), **{name: -1})
    with pytest.raises(ParamError) as refused:
        check(Recipe(config=config), registry)
    assert refused.value.param == name
    assert str(refused.value) == f"{name}: must be >= 0, got -1"
