"""Minimal sums of products against sympy's SOPform, and against the tables they come from."""

from __future__ import annotations

import numpy as np
import pytest
from sympy import Or, symbols
from sympy.logic import SOPform

from gatelearn.core.logic import EXACT_MAX_INPUTS, Sop, minimal_sop


def names(n: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n)]


def table(code: int, n: int) -> np.ndarray:
    """The function whose row r is bit r of `code`."""
    return np.array([code >> r & 1 for r in range(1 << n)], dtype=bool)


def evaluated(text: str, n: int) -> np.ndarray:
    """The formula's text evaluated on every row (x1 the most significant bit of the row)."""
    rows = np.arange(1 << n)
    inputs = {name: (rows >> (n - 1 - i) & 1).astype(bool) for i, name in enumerate(names(n))}
    value = eval(text, {"__builtins__": {}}, inputs)  # our own output: & | ~ and names
    return np.broadcast_to(np.asarray(value, dtype=bool), rows.shape)


def sympy_cost(ones: np.ndarray, n: int) -> tuple[int, int]:
    """(products, literals) of sympy's SOPform for the same function."""
    minterms = [[r >> (n - 1 - i) & 1 for i in range(n)] for r in np.flatnonzero(ones)]
    formula = SOPform(symbols(f"x1:{n + 1}"), minterms)
    if formula in (True, False):
        return int(bool(formula)), 0
    products = formula.args if isinstance(formula, Or) else (formula,)
    return len(products), sum(max(1, len(p.args)) if not p.is_Symbol else 1 for p in products)


def cost(sop: Sop) -> tuple[int, int]:
    return len(sop.products), sop.literals


@pytest.mark.parametrize("n", [2, 3])
def test_every_two_and_three_input_function_is_as_small_as_sympys(n: int) -> None:
    for code in range(1 << (1 << n)):
        ones = table(code, n)
        sop = minimal_sop(ones)
        assert sop.exact
        assert cost(sop) == sympy_cost(ones, n), code
        assert (evaluated(sop.text(names(n)), n) == ones).all(), code


def test_random_four_to_eight_input_functions_are_no_larger_than_sympys() -> None:
    """SOPform is not always minimal (its cover is greedy): an exact answer is at most as
    large; one whose search ran out of nodes (some 7- and 8-input ones) is within a product
    or two."""
    rng = np.random.default_rng(12)
    exact = 0
    for n in [4, 5, 6, 7, 8] * 10:
        ones = rng.random(1 << n) < rng.uniform(0.2, 0.8)
        sop = minimal_sop(ones)
        theirs = sympy_cost(ones, n)
        if sop.exact:
            exact += 1
            assert cost(sop) <= theirs
        else:
            assert n >= 7 and len(sop.products) <= theirs[0] + 2
        assert (evaluated(sop.text(names(n)), n) == ones).all()
    assert exact >= 40


def test_the_gates_read_as_their_usual_formulas() -> None:
    xor = np.array([0, 1, 1, 0], dtype=bool)
    assert minimal_sop(xor).text(["x1", "x2"]) == "x1 & ~x2 | ~x1 & x2"
    assert minimal_sop(np.array([0, 0, 0, 1], dtype=bool)).text(["a", "b"]) == "a & b"
    majority = np.array([bin(r).count("1") >= 2 for r in range(8)])
    assert minimal_sop(majority).text(names(3)) == "x1 & x2 | x1 & x3 | x2 & x3"


def test_constants_read_as_0_and_1() -> None:
    assert minimal_sop(np.zeros(4, dtype=bool)).text(names(2)) == "0"
    assert minimal_sop(np.ones(8, dtype=bool)).text(names(3)) == "1"


def test_dont_care_rows_may_go_either_way() -> None:
    ones = np.array([0, 0, 0, 1], dtype=bool)
    free = np.array([0, 1, 1, 0], dtype=bool)  # only 00 must be 0
    assert minimal_sop(ones, free).text(["x1", "x2"]) in ("x1", "x2")


def test_beyond_the_exact_limit_the_heuristic_answers_and_says_so() -> None:
    n = EXACT_MAX_INPUTS + 2
    parity = np.array([bin(r).count("1") % 2 for r in range(1 << n)], dtype=bool)
    sop = minimal_sop(parity)
    assert not sop.exact
    assert cost(sop) == (1 << (n - 1), n << (n - 1))  # parity has no shorter form
    rng = np.random.default_rng(3)
    ones = rng.random(1 << n) < 0.5
    assert (evaluated(minimal_sop(ones).text(names(n)), n) == ones).all()
