"""Benchmark: gatelearn's training core against article 000's XOR loop, timed in the same run.

    python bench/core.py            # ~0.7 s per timed run, 5 interleaved rounds (~20 s total)
    python bench/core.py --quick    # ~0.08 s per timed run, 3 rounds (a few seconds total)

This is a benchmark, not a test: it prints a table of speed ratios and exits 0 whatever they
are. It exits non-zero only when the equality check fails, i.e. when the core and the article
loop would not be doing the same work.

Figures (both divided by the article loop's epochs/s, measured in the same run):
  * P = 1     -- one 2-3-1 sigmoid network, no biases, full batch, gd lr=1, sse_half:
                 core epochs/s.
  * P = 1000  -- the same network, 1000 members from the uniform initializer:
                 core network-epochs/s (members x epochs per second).

The reference is article 000's loop written out inline (2-3-1 sigmoid, no biases, full batch,
delta rule with step 1). It trains on the same float64 XOR rows as the core (the registry's
`xor` task); the article's literal integer arrays would make the reference slower (a mixed
int/float `X.T.dot(dH)`), which would flatter the core.

Method: time.perf_counter around whole runs; one warm-up run per side that also calibrates
the epoch count so each timed run lasts about the target duration; then rounds that run the
reference and the candidate back to back (order alternating between rounds) so machine noise
hits both sides; each side's median rate over the rounds is reported, and the ratio is the
ratio of the two medians.

The article loop, the equality check, the timing and the machine information live in
bench/_common.py, shared with bench/run.py.
"""

from __future__ import annotations

import argparse
import sys

from _common import (
    ONE_NET_BAR,
    POPULATION,
    POPULATION_BAR,
    Core,
    add_without_avx512,
    article_side,
    check_equal,
    compare,
    core_side,
    machine_info,
    rate,
    rerun_without_avx512,
    spread,
    table,
    verdict,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short runs and 3 rounds: a smoke run of a few seconds"
    )
    add_without_avx512(parser)
    args = parser.parse_args()
    rerun_without_avx512(args.without_avx512)
    seconds, rounds = (0.08, 3) if args.quick else (0.7, 5)

    print("gatelearn core benchmark" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print(f"  method   : {rounds} interleaved rounds, ~{seconds:g} s per run, median per side")
    print()

    core = Core()
    for result in check_equal(core):
        print("equality check ok: " + result)
    print()

    rows = []
    figures = [
        ("P=1 epochs/s", 1, *ONE_NET_BAR, (200, 200)),
        (f"P={POPULATION} network-epochs/s", POPULATION, *POPULATION_BAR, (200, 20)),
    ]
    notes = []
    for label, population, floor, target, probes in figures:
        reference = article_side(core)
        candidate = core_side(core, population)
        ref_rate, cand_rate = compare(reference, candidate, rounds, seconds, probes)
        ratio = cand_rate / ref_rate
        rows.append(
            (
                label,
                rate(ref_rate),
                rate(cand_rate),
                f"{ratio:.2f}x",
                f"{floor:g}x",
                f"{target:g}x",
                verdict(ratio, floor, target),
            )
        )
        assert reference.rates is not None and candidate.rates is not None
        notes.append(
            f"{label}: {reference.epochs} reference epochs and {candidate.epochs} "
            f"candidate epochs per run; spread (max/min - 1) reference "
            f"{spread(reference.rates)}, candidate {spread(candidate.rates)}; "
            f"per-round ratios "
            + " ".join(
                f"{c / r:.2f}" for r, c in zip(reference.rates, candidate.rates, strict=True)
            )
        )

    header = ("figure", "reference", "candidate", "ratio", "floor", "target", "verdict")
    for line in table(header, rows):
        print(line)
    print()
    print("reference = article 000's loop (P=1, epochs/s); candidate = gatelearn.core.train")
    for note in notes:
        print("  " + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
