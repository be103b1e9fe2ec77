"""Minimal sum-of-products formulas for boolean functions given as truth tables.

A function of n inputs is its table of 2^n rows, row r holding the inputs given by the bits of
r with x1 the most significant (as `Gate` enumerates them). A product is a `Cube`: the inputs it
fixes and the values it fixes them to. Minimal means fewest products, then fewest literals.

Up to `EXACT_MAX_INPUTS` inputs the answer is exact: Quine–McCluskey's prime implicants, then a
branch-and-bound search for the cheapest set of primes covering every row that is 1 (a lower
bound from rows no two of which one prime covers). The search stops after `SEARCH_NODES` nodes
and then answers the best cover found, marked not exact. Beyond that many inputs, or after the
budget, a greedy heuristic gives the answer: each row not yet covered is widened into a prime
literal by literal, and products whose rows others cover are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXACT_MAX_INPUTS", "SEARCH_NODES", "Cube", "Sop", "minimal_sop"]

EXACT_MAX_INPUTS = 8  # a worst 8-input table takes well under a second (see tests/core)
SEARCH_NODES = 300  # branch-and-bound nodes before the best cover so far is answered

Bits = NDArray[np.bool_]


@dataclass(frozen=True, order=True)
class Cube:
    """A product of literals: input i (bit n-1-i of a row) is fixed when its bit is in `fixed`,
    to its bit in `value` (zero wherever `fixed` is)."""

    fixed: int
    value: int

    @property
    def literals(self) -> int:
        return self.fixed.bit_count()

    def rows(self, n: int) -> NDArray[np.int64]:
        """Every row of an n-input table this product is 1 on."""
        rows = np.array([self.value], dtype=np.int64)
        for bit in range(n):
            if not self.fixed >> bit & 1:
                rows = np.concatenate([rows, rows | 1 << bit])
        return rows

    def text(self, names: Sequence[str]) -> str:
        """`x1 & ~x2`; `1` for the product of no literals."""
        n = len(names)
        parts = [
            ("" if self.value >> (n - 1 - i) & 1 else "~") + name
            for i, name in enumerate(names)
            if self.fixed >> (n - 1 - i) & 1
        ]
        return " & ".join(parts) or "1"


@dataclass(frozen=True)
class Sop:
    """A sum of products, and whether it is known to be minimal."""

    products: tuple[Cube, ...]
    exact: bool

    @property
    def literals(self) -> int:
        return sum(cube.literals for cube in self.products)

    def text(self, names: Sequence[str]) -> str:
        """`x1 & ~x2 | ~x1 & x2`; `0` for the empty sum."""
        return " | ".join(cube.text(names) for cube in self.products) or "0"


def minimal_sop(ones: Bits, dont_care: Bits | None = None) -> Sop:
    """The minimal sum of products that is 1 on `ones` and 0 off `ones | dont_care`.

    `ones` (and `dont_care`) hold one flag per row of the table, 2^n of them.
    """
    ones = np.asarray(ones, dtype=bool)
    n = int(len(ones)).bit_length() - 1
    if len(ones) != 1 << n:
        raise ValueError(f"a truth table has 2^n rows, got {len(ones)}")
    allowed = ones if dont_care is None else ones | np.asarray(dont_care, dtype=bool)
    if not ones.any():
        return Sop((), exact=True)
    if allowed.all():
        return Sop((Cube(0, 0),), exact=True)
    greedy = _greedy(ones, allowed, n)
    if n > EXACT_MAX_INPUTS:
        return Sop(greedy, exact=False)
    return _exact(ones, allowed, n, greedy)


# ---------------------------------------------------------------- the greedy heuristic
def _greedy(ones: Bits, allowed: Bits, n: int) -> tuple[Cube, ...]:
    """Widen each uncovered row into a prime, then drop products covered by the others."""
    uncovered = ones.copy()
    cubes: list[tuple[Cube, NDArray[np.int64]]] = []
    full = (1 << n) - 1
    for row in np.flatnonzero(ones).tolist():
        if not uncovered[row]:
            continue
        fixed, rows = full, np.array([row], dtype=np.int64)
        for bit in (1 << b for b in range(n - 1, -1, -1)):
            flipped = rows ^ bit  # the rows the product gains by freeing this input
            if allowed[flipped].all():
                fixed &= ~bit
                rows = np.concatenate([rows, flipped])
        cubes.append((Cube(fixed, row & fixed), rows))
        uncovered[rows] = False
    counts = np.zeros(len(ones), dtype=np.int64)
    for _, rows in cubes:
        counts[rows] += 1
    kept = []
    for cube, rows in sorted(cubes, key=lambda c: -c[0].literals):  # drop the costliest first
        on_rows = rows[ones[rows]]
        if (counts[on_rows] > 1).all():
            counts[rows] -= 1
        else:
            kept.append(cube)
    return tuple(sorted(kept, key=_reading_order))


def _reading_order(cube: Cube) -> tuple[int, int, int]:
    """Shorter products first, then by the inputs they fix, x1 first."""
    return (cube.literals, -cube.fixed, -cube.value)


# ---------------------------------------------------------------- the exact search
def prime_implicants(allowed: Bits, n: int) -> list[Cube]:
    """Quine–McCluskey: merge products differing in one fixed input until none merge."""
    full = (1 << n) - 1
    current = {Cube(full, int(row)) for row in np.flatnonzero(allowed)}
    primes: list[Cube] = []
    while current:
        merged: set[Cube] = set()
        used: set[Cube] = set()
        for cube in current:
            for bit in (1 << b for b in range(n)):
                if cube.fixed & bit and not cube.value & bit:
                    partner = Cube(cube.fixed, cube.value | bit)
                    if partner in current:
                        merged.add(Cube(cube.fixed & ~bit, cube.value))
                        used.update((cube, partner))
        primes += [cube for cube in current if cube not in used]
        current = merged
    return primes


@dataclass
class _Search:
    """Branch and bound over the primes covering the rows that are 1; each node first takes
    the primes it must and drops the dominated ones (`_reduce`)."""

    covers: list[int]  # per prime: the bitset of 1-rows it covers
    costs: list[int]  # per prime: its literals
    best: tuple[tuple[int, int], list[int]]
    nodes: int = 0

    def run(self, uncovered: int, alive: list[int], chosen: list[int]) -> None:
        self.nodes += 1
        if self.nodes > SEARCH_NODES:
            return
        forced, alive, uncovered = _reduce(uncovered, alive, self.covers, self.costs)
        chosen = chosen + forced
        cost = (len(chosen), sum(self.costs[i] for i in chosen))
        if not uncovered:
            if cost < self.best[0]:
                self.best = (cost, chosen)
            return
        options, bound_products, bound_literals = self._bound(uncovered, alive)
        if (cost[0] + bound_products, cost[1] + bound_literals) >= self.best[0]:
            return
        for index, prime in enumerate(options):
            # Once a branch has tried a prime, the later branches need not use it again.
            rest = [i for i in alive if i not in options[:index]]
            self.run(uncovered & ~self.covers[prime], rest, [*chosen, prime])

    def _bound(self, uncovered: int, alive: list[int]) -> tuple[list[int], int, int]:
        """The primes covering the row with fewest of them (best first), and a lower bound on
        covering the rest: rows that no one prime covers together each need their own."""
        having = {r: [i for i in alive if self.covers[i] >> r & 1] for r in _members(uncovered)}
        rows = sorted(having, key=lambda r: len(having[r]))
        blocked, products, literals = 0, 0, 0
        for r in rows:
            if not blocked >> r & 1:
                products += 1
                literals += min(self.costs[p] for p in having[r])
                for p in having[r]:
                    blocked |= self.covers[p]
        options = sorted(
            having[rows[0]],
            key=lambda i: (-(self.covers[i] & uncovered).bit_count(), self.costs[i]),
        )
        return options, products, literals


def _exact(ones: Bits, allowed: Bits, n: int, greedy: tuple[Cube, ...]) -> Sop:
    primes = prime_implicants(allowed, n)
    covers = [_bitset(p.rows(n)[ones[p.rows(n)]]) for p in primes]
    costs = [p.literals for p in primes]
    uncovered = _bitset(np.flatnonzero(ones))
    start = _greedy_cover(uncovered, list(range(len(primes))), covers, costs)
    start_cost = (len(start), sum(costs[i] for i in start))
    greedy_cost = (len(greedy), sum(c.literals for c in greedy))
    if greedy_cost < start_cost:  # widening rows can beat covering with primes; start from it
        start_cost, start = greedy_cost, []
    search = _Search(covers, costs, (start_cost, start))
    search.run(uncovered, list(range(len(primes))), [])
    exact = search.nodes <= SEARCH_NODES
    chosen = search.best[1]
    if not chosen:  # nothing beat the greedy answer
        return Sop(greedy, exact)
    return Sop(tuple(sorted((primes[i] for i in chosen), key=_reading_order)), exact)


def _reduce(
    uncovered: int, alive: list[int], covers: list[int], costs: list[int]
) -> tuple[list[int], list[int], int]:
    """Take the primes some row needs (essential), set aside rows covered whenever another is,
    and drop the primes another covers more of for no more literals, until nothing changes:
    (essential, the primes left, the rows left to cover)."""
    essential: list[int] = []
    changed = True
    while changed and uncovered:
        changed = False
        having = {r: [i for i in alive if covers[i] >> r & 1] for r in _members(uncovered)}
        for r, primes in having.items():
            if len(primes) == 1 and uncovered >> r & 1:
                essential.append(primes[0])
                uncovered &= ~covers[primes[0]]
                changed = True
        uncovered = _drop_dominated_rows(uncovered, having)
        kept = []
        for a in alive:
            left = covers[a] & uncovered
            if left:  # only a prime covering a's first row can dominate it
                first = (left & -left).bit_length() - 1
                if not any(
                    _dominates(b, a, covers, costs, uncovered) for b in having[first] if b != a
                ):
                    kept.append(a)
        changed |= len(kept) != len(alive)
        alive = kept
    return essential, alive, uncovered


def _drop_dominated_rows(uncovered: int, having: dict[int, list[int]]) -> int:
    """Rows left to cover without those covered whenever another is: a row whose primes
    include all of another row's primes."""
    options = {r: sum(1 << i for i in having[r]) for r in _members(uncovered)}
    rows = sorted(options, key=lambda r: options[r].bit_count())
    for index, r in enumerate(rows):
        if any(options[r] & ~options[q] == 0 for q in rows[:index] if uncovered >> q & 1):
            uncovered &= ~(1 << r)  # covering q covers r
    return uncovered


def _dominates(b: int, a: int, covers: list[int], costs: list[int], uncovered: int) -> bool:
    """Prime b makes prime a useless: it covers every row a still would, for no more literals
    (of two primes covering the same rows for as many literals, the first stays)."""
    left_a, left_b = covers[a] & uncovered, covers[b] & uncovered
    if left_a & ~left_b:
        return False
    if left_a == left_b:
        return (costs[b], b) < (costs[a], a)
    return costs[b] <= costs[a]


def _greedy_cover(
    uncovered: int, alive: list[int], covers: list[int], costs: list[int]
) -> list[int]:
    """A first upper bound: take the primes that must be taken, set aside dominated rows and
    primes, then the prime covering most rows (fewest literals among those), and again until
    all are covered."""
    chosen: list[int] = []
    while uncovered:
        forced, alive, uncovered = _reduce(uncovered, alive, covers, costs)
        chosen += forced
        if uncovered:
            best = max(alive, key=lambda i: ((covers[i] & uncovered).bit_count(), -costs[i]))
            chosen.append(best)
            uncovered &= ~covers[best]
    return chosen


def _members(bits: int) -> list[int]:
    """The positions of a bitset's ones."""
    return [r for r in range(bits.bit_length()) if bits >> r & 1]


def _bitset(rows: NDArray[Any]) -> int:
    bits = 0
    for row in rows.tolist():
        bits |= 1 << row
    return bits
