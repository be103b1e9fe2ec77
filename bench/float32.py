"""Benchmark: float32 against float64 population training, speed and learning, in one run.

    python bench/float32.py            # ~0.7 s per timed run, 5 rounds; 1000 seeds a gate
    python bench/float32.py --quick    # ~0.08 s per timed run, 3 rounds; 200 seeds a gate

This is a benchmark, not a test: it prints two tables and exits 0 whatever they say.

Speed: network-epochs/s of P = 1000 members training in float32, divided by the same in
float64, timed in interleaved rounds (bench/_common.py's method), on two networks: the default
recipe (XOR, 2-8-1 tanh/sigmoid, bce, adam) and article 000's 2-3-1 sigmoid network (no biases,
sse_half, gd with step 1). Floor 1.5x, target 2x.

Learning: the default recipe on the six two-input gates, seeds 0..S-1 as one population in
each dtype: the share solved (float32 should be within 1 point of float64) and the median
epoch the solved seeds got there, and for how many seeds both dtypes solved at the very same
epoch (or both failed).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import (
    ARTICLE_NET,
    DEFAULT_XOR,
    add_without_avx512,
    compare,
    machine_info,
    rate,
    recipe_side,
    rerun_without_avx512,
    solved_epochs,
    table,
    verdict,
)

from gatelearn.plugins.recipe import Recipe

GATES = ("and", "or", "nand", "nor", "xor", "xnor")
NETWORKS: tuple[tuple[str, Recipe], ...] = (
    ("default recipe, XOR 2-8-1", DEFAULT_XOR),
    ("article 000, 2-3-1 sigmoid", ARTICLE_NET),
)
FLOOR, TARGET = 1.5, 2.0
SHARE_TOLERANCE = 0.01  # float32's solved share within 1 point of float64's


def speed_rows(rounds: int, seconds: float) -> list[tuple[str, ...]]:
    rows = []
    for label, recipe in NETWORKS:
        double, single = recipe_side(recipe, "float64"), recipe_side(recipe, "float32")
        rate64, rate32 = compare(double, single, rounds, seconds, (20, 20))
        assert double.rates is not None and single.rates is not None
        rounds_text = " ".join(
            f"{s / d:.2f}" for d, s in zip(double.rates, single.rates, strict=True)
        )
        ratio = rate32 / rate64
        rows.append(
            (
                label,
                rate(rate64, " net-ep/s"),
                rate(rate32, " net-ep/s"),
                f"{ratio:.2f}x",
                verdict(ratio, FLOOR, TARGET),
                rounds_text,
            )
        )
    return rows


def learning_rows(seeds: int) -> list[tuple[str, ...]]:
    rows = []
    for gate in GATES:
        double, single = (solved_epochs(gate, dtype, seeds) for dtype in ("float64", "float32"))
        share64, share32 = (float((epochs >= 0).mean()) for epochs in (double, single))
        medians = (
            np.median(epochs[epochs >= 0]) if (epochs >= 0).any() else np.nan
            for epochs in (double, single)
        )
        rows.append(
            (
                gate,
                f"{share64:.1%}",
                f"{share32:.1%}",
                " / ".join(f"{median:.0f}" for median in medians),
                f"{int((double == single).sum())}/{seeds}",
                "within 1 point" if abs(share32 - share64) <= SHARE_TOLERANCE else "DIFFERS",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 200 seeds a gate")
    parser.add_argument("--seeds", type=int, help="seeds a gate (default 1000; 200 with --quick)")
    add_without_avx512(parser)
    args = parser.parse_args()
    rerun_without_avx512(args.without_avx512)
    seconds, rounds = (0.08, 3) if args.quick else (0.7, 5)
    seeds = args.seeds or (200 if args.quick else 1000)

    print("gatelearn float32 benchmark" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print(f"  method   : {rounds} interleaved rounds, ~{seconds:g} s per run, median per side")
    print()
    header = ("P=1000 network", "float64", "float32", "ratio", "verdict", "per-round ratios")
    for line in table(header, speed_rows(rounds, seconds)):
        print(line)
    print(f"floor {FLOOR:g}x, target {TARGET:g}x")
    print()
    print(f"default recipe, seeds 0..{seeds - 1} as one population a gate:")
    header = (
        "gate",
        "solved float64",
        "solved float32",
        "median epoch 64 / 32",
        "same epoch",
        "shares",
    )
    for line in table(header, learning_rows(seeds)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
