"""Article 002's hand-written perceptron as an export: importable by tests in any folder."""

from __future__ import annotations

PERCEPTRON = {
    "layers": [
        {
            "weights": {"shape": [2, 2], "values": [1, 0, 0, -1]},
            "bias": {"shape": [2], "values": [-1, 1]},
            "activation": {"name": "sign"},
        },
        {
            "weights": {"shape": [2, 1], "values": [1, 1]},
            "bias": {"shape": [1], "values": [0]},
            "activation": {"name": "sign"},
        },
    ],
    "task": {"name": "region", "params": {"labels": "sign"}},
    "low": -1,
    "high": 1,
}
