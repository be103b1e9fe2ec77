"""Limits on what one request may ask for, so no request can exhaust the server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

from gatelearn.api.constants import LIMITS_ENV

__all__ = ["LIMITS_ENV", "Limits"]


@dataclass(frozen=True)
class Limits:
    """Upper bounds, sane for a 2-core machine. A request over one is refused before any work."""

    max_layers: int = 8  # weight layers (hidden layers + 1)
    max_units: int = 1024  # units in any hidden layer
    max_epochs: int = 1_000_000
    max_population: int = 4096
    max_predict_rows: int = 100_000
    max_arity: int = 16  # task inputs
    max_task_rows: int = 100_000  # rows a task may have (sampled points, table rows)
    max_parameters: int = 16_000_000  # weights and biases of a training, whole population
    max_activations: int = 32_000_000  # task rows x units x population: one pass's values
    max_message_bytes: int = 16 * 1024 * 1024
    max_history_points: int = 10_000  # recorded epochs a model keeps; more are thinned evenly
    max_concurrent_trainings: int = 2
    # Request streams (PredictStream, reflection) open at once: each holds a server thread
    max_open_streams: int = 8
    # Calls open at once on one connection (HTTP/2's max concurrent streams): each costs memory
    max_connection_calls: int = 100
    max_connections: int = 1000  # client connections at once; one more is refused
    max_training_seconds: int = 3600  # a training still running then is stopped
    # A Search's work: seeds x epochs summed over every candidate of its space
    max_search_network_epochs: int = 100_000_000
    max_models: int = 10_000  # stored model versions
    max_aliases: int = 1000  # stored aliases, all models together
    max_name_length: int = 128
    cached_models: int = 64  # loaded models kept in memory for Predict
    cached_bytes: int = 256 * 1024 * 1024  # memory those models may hold together

    def overridden(self, settings: Iterable[str]) -> Limits:
        """These limits with `name=value` settings applied; ValueError names a bad one."""
        known = {f.name for f in fields(self)}
        changes: dict[str, int] = {}
        for setting in settings:
            name, _, text = setting.partition("=")
            name = name.strip()
            if name not in known:
                raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(known))})")
            try:
                value = int(text)
            except ValueError:
                value = 0
            if value < 1:
                raise ValueError(f"limit {name} must be a whole number >= 1, got {text!r}")
            changes[name] = value
        return replace(self, **changes)
