"""Stored model versions as every backend and the training worker hand them around.

A record is a network's matrices plus its typed metadata (`meta.ModelMeta`) and, for a trained
version, where its training left off (`RunState`: optimizer state, minibatch order); all of
them travel and rest as one blob of plain arrays (`arrays`), so nothing is ever unpickled.
`decode_record` turns a stored row back into a record, the same way for every backend; a
summary is the small part of the metadata a listing shows, stored apart so listing reads no
histories or tables.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import OptimizerState, RunState, ShuffleState
from gatelearn.server.stores.arrays import decode_arrays, encode_arrays
from gatelearn.server.stores.errors import CorruptModelError, NewerModelError
from gatelearn.server.stores.meta import Metrics, ModelMeta, NewerLayoutError

__all__ = [
    "ModelRecord",
    "ModelSummary",
    "decode_record",
    "pack_arrays",
    "stored_summary",
    "summary_text",
    "unpack_arrays",
    "unpack_state",
    "with_aliases",
]


@dataclass(frozen=True)
class ModelSummary:
    """What a listing shows of a model version."""

    name: str
    version: int
    created_at: float
    task: str  # the task's name; empty when the row records none
    sizes: tuple[int, ...]
    metrics: Metrics
    aliases: tuple[str, ...] = ()  # the aliases naming this version, sorted

    @classmethod
    def from_row(cls, name: str, version: int, created_at: float, text: str | None) -> ModelSummary:
        """A stored summary (`summary_text`); a row whose summary could not be made (its
        metadata was damaged) lists with empty fields."""
        data = json.loads(text or "{}")
        return cls(
            name,
            version,
            created_at,
            data.get("task", {}).get("name", ""),
            tuple(data.get("sizes", ())),
            Metrics(**data.get("metrics", {})),
        )


@dataclass
class ModelRecord:
    """One stored model version: its arrays and everything known about it.

    `request` is the serialized request that trained it (None for imports); `state` is where
    its training left off (None when nothing was kept: an optimizer declaring no state, an
    import without it).
    """

    name: str
    meta: ModelMeta
    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]] | None
    request: bytes | None = None
    version: int = 0
    created_at: float = field(default_factory=time.time)
    state: RunState | None = None

    def summary(self) -> ModelSummary:
        return ModelSummary(
            self.name,
            self.version,
            self.created_at,
            self.meta.task.name if self.meta.task else "",
            self.meta.sizes,
            self.meta.metrics,
        )


def with_aliases(
    summaries: list[ModelSummary], aliases: Iterable[tuple[str, int, str]]
) -> list[ModelSummary]:
    """The summaries, each given the aliases (rows of name, version, alias) naming it."""
    named: dict[tuple[str, int], list[str]] = {}
    for name, version, alias in aliases:
        named.setdefault((name, version), []).append(alias)
    return [
        replace(s, aliases=tuple(sorted(named.get((s.name, s.version), ())))) for s in summaries
    ]


def summary_text(meta: ModelMeta) -> str:
    """The summary column's JSON for `meta`: sizes, metrics and the task's name."""
    summary: dict[str, Any] = {"sizes": list(meta.sizes), "metrics": asdict(meta.metrics)}
    if meta.task:
        summary["task"] = {"name": meta.task.name}
    return json.dumps(summary, allow_nan=False)


def stored_summary(meta_text: str) -> str | None:
    """The summary of a stored row's metadata text, for a store gaining its summary column;
    None when the text is damaged (the row stays as it is: loading it says so)."""
    try:
        return summary_text(ModelMeta.from_json(json.loads(meta_text)))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def pack_arrays(
    weights: list[NDArray[Any]], biases: list[NDArray[Any]] | None, state: RunState | None = None
) -> bytes:
    """A model's matrices as one blob (`arrays`): w0, w1, ... and b0, b1, ... with biases;
    with a run state, `opt/NAME/I` for each optimizer state array (I counts the weights, then
    the biases), `opt_steps`, and `shuffle/order` and `shuffle/generator` for minibatches."""
    arrays: dict[str, NDArray[Any]] = {
        f"w{index}": np.asarray(w, dtype=np.float64) for index, w in enumerate(weights)
    }
    for index, b in enumerate(biases or []):
        arrays[f"b{index}"] = np.asarray(b, dtype=np.float64)
    if state is not None and state.optimizer is not None:
        arrays["opt_steps"] = np.array(state.optimizer.steps, dtype=np.int64)
        for name, values in state.optimizer.arrays.items():
            for index, value in enumerate(values):
                arrays[f"opt/{name}/{index}"] = np.asarray(value, dtype=np.float64)
    if state is not None and state.shuffle is not None:
        arrays["shuffle/order"] = state.shuffle.order
        arrays["shuffle/generator"] = state.shuffle.generator
    return encode_arrays(arrays)


def unpack_arrays(
    blob: bytes, layers: int, bias: bool
) -> tuple[list[NDArray[Any]], list[NDArray[Any]] | None]:
    """`pack_arrays` bytes back as weight (and bias) arrays; object arrays are refused."""
    arrays = decode_arrays(blob)
    weights = [arrays[f"w{index}"] for index in range(layers)]
    biases = [arrays[f"b{index}"] for index in range(layers)] if bias else None
    return weights, biases


def unpack_state(blob: bytes) -> RunState | None:
    """The run state in `pack_arrays` bytes, None when they hold none (plain arrays only)."""
    arrays = decode_arrays(blob)
    names = sorted({key.split("/")[1] for key in arrays if key.startswith("opt/")})
    optimizer = None
    if "opt_steps" in arrays:
        counts = {name: sum(key.startswith(f"opt/{name}/") for key in arrays) for name in names}
        optimizer = OptimizerState(
            {
                name: [arrays[f"opt/{name}/{index}"] for index in range(counts[name])]
                for name in names
            },
            int(arrays["opt_steps"]),
        )
    shuffle = None
    if "shuffle/order" in arrays:
        shuffle = ShuffleState(
            arrays["shuffle/order"].astype(np.int64),
            arrays["shuffle/generator"].astype(np.uint64),
        )
    if optimizer is None and shuffle is None:
        return None
    return RunState(optimizer, shuffle)


def decode_record(
    name: str,
    version: int,
    created_at: float,
    meta_text: str,
    request: bytes | None,
    blob: bytes,
) -> ModelRecord:
    """A stored row as a record; CorruptModelError when it is not plain arrays and JSON."""
    try:
        meta = ModelMeta.from_json(json.loads(meta_text))
        weights, biases = unpack_arrays(blob, len(meta.sizes) - 1, meta.bias)
        state = unpack_state(blob)
    except NewerLayoutError as error:
        raise NewerModelError(name, version, error) from None
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        RecursionError,  # JSON nested deeper than the parser goes
    ) as error:
        # Not written by a store (object arrays are refused, never unpickled).
        raise CorruptModelError(name, version, error) from None
    return ModelRecord(name, meta, weights, biases, request, version, created_at, state)
