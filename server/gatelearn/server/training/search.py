"""Search's pure part: the candidate networks of a search space in size order, and a finished
candidate's row of the table (solved share, epochs to solve) from its population's record.

Size order is fewest parameters, then fewest hidden layers, then the widths and the order the
activations were given in; the first candidate in that order whose solved share reaches the
target is the answer, so a search runs them in order and stops there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from gatelearn.server.stores.meta import SearchMeta, SearchRow
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "MAX_CANDIDATES",
    "Candidate",
    "CandidateProgress",
    "SearchPlan",
    "candidate_count",
    "candidates",
    "nearest_rank",
    "parameters",
    "search_row",
]

MAX_CANDIDATES = 4096  # candidates in one search space: they are listed before any training


@dataclass(frozen=True)
class Candidate:
    """A network to try: its hidden widths, their activation (None without hidden layers) and
    its weights and biases."""

    hidden: tuple[int, ...]
    activation: pb.ComponentRef | None
    parameters: int


def parameters(sizes: tuple[int, ...], bias: bool) -> int:
    """Weights and biases of one network with these layer sizes (inputs first)."""
    return sum((fan_in + bias) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def candidate_count(max_depth: int, widths: int, activations: int) -> int:
    """How many candidates a space holds, worked out without listing them."""
    return 1 + activations * sum(widths**depth for depth in range(1, max_depth + 1))


def candidates(
    n_inputs: int,
    n_outputs: int,
    bias: bool,
    max_depth: int,
    widths: tuple[int, ...],
    activations: tuple[pb.ComponentRef, ...],
) -> list[Candidate]:
    """Every candidate of the space, in size order."""
    found = [Candidate((), None, parameters((n_inputs, n_outputs), bias))]
    for depth in range(1, max_depth + 1):
        for hidden in itertools.product(sorted(widths), repeat=depth):
            size = parameters((n_inputs, *hidden, n_outputs), bias)
            found += [Candidate(hidden, activation, size) for activation in activations]
    # sorted() is stable: equal sizes and depths keep the widths' and activations' order
    return sorted(found, key=lambda c: (c.parameters, len(c.hidden)))


def nearest_rank(values: list[int], share: float) -> int:
    """The ceil(share x n)-th smallest of `values` (at least the first): a percentile that is
    always one of the values."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def search_row(
    index: int, candidate: Candidate, solved_epochs: tuple[int, ...], epochs: int
) -> SearchRow:
    """A finished candidate's row, from each seed's first solved epoch (-1: never)."""
    solved = [epoch for epoch in solved_epochs if epoch >= 0]
    activation = candidate.activation.name if candidate.activation else ""
    return SearchRow(
        index=index,
        hidden=candidate.hidden,
        activation=activation,
        parameters=candidate.parameters,
        seeds=len(solved_epochs),
        solved=len(solved),
        epochs=epochs,
        median_epochs=nearest_rank(solved, 0.5) if solved else None,
        p90_epochs=nearest_rank(solved, 0.9) if solved else None,
    )


@dataclass(frozen=True)
class CandidateProgress:
    """How the population of candidate `index` is doing."""

    index: int
    training: pb.TrainProgress


@dataclass(frozen=True)
class SearchPlan:
    """A checked search: the training every candidate shares (`base`, its population the seeds),
    the candidates in size order, the output activation and the target share."""

    base: pb.TrainRequest
    candidates: tuple[Candidate, ...]
    output_activation: pb.ComponentRef
    target: float

    def request(self, candidate: Candidate) -> pb.TrainRequest:
        """The TrainRequest that trains `candidate`'s population."""
        request = pb.TrainRequest()
        request.CopyFrom(self.base)
        request.hidden.SetInParent()
        request.hidden.units.extend(candidate.hidden)
        if candidate.activation is not None:
            request.activations.extend([candidate.activation] * len(candidate.hidden))
        request.activations.append(self.output_activation)
        return request

    def meta(self, rows: list[SearchRow], answer: int | None) -> SearchMeta:
        """What is stored and answered about the search: its rows so far and the answer."""
        return SearchMeta(
            rows=tuple(rows), answer=answer, candidates=len(self.candidates), target=self.target
        )
