"""Imported by conftest before anything loads gRPC: turn off gRPC's fork handlers.

pgserver starts initdb and pg_ctl as another user, which makes Python fork() rather than vfork(),
and gRPC's fork handlers then run beside busy gRPC threads: at such moments initdb died of
SIGSEGV, pg_ctl of SIGBUS and a gRPC thread of a segmentation fault here, which those handlers
likely caused. Nothing in the tests forks without exec, the one case they exist for.
"""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
