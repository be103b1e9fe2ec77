"""Imported by conftest before anything loads NumPy: one BLAS thread, as the server's training
workers run (gatelearn.server.training.pool.WORKER_ENV).

With OpenBLAS's default of a thread per core its idle threads spin beside the tests' small
products: tests/core took 3 min 25 s of wall and 106 s of CPU that way against 33 s and 23 s
with one thread, on this 2-core machine while it was loaded.
"""

import os

for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")
