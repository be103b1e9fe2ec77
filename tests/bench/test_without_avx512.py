"""The benchmarks' --without-avx512: NumPy runs its AVX2 code, and the output says so, beside
the CPU it ran on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "core.py"


def test_without_avx512_runs_numpys_avx2_code_and_says_so() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--without-avx512"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    simd = next(line for line in done.stdout.splitlines() if line.strip().startswith("simd"))
    assert "AVX-512 not used" in simd
    assert "X86_V4" not in simd.split(";")[0]  # the targets NumPy runs
    cpu = next(line for line in done.stdout.splitlines() if line.strip().startswith("cpu"))
    info = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    family = next(line for line in info.splitlines() if line.startswith("cpu family"))
    assert f"family {family.split(':')[1].strip()} model " in cpu  # tells machine kinds apart
