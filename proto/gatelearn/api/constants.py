"""Names the server and its clients must agree on that the proto does not carry.

Both sides import them from here: the server may not import the client, and the client may not
import the server (it needs neither NumPy nor the core to talk to one).
"""

from __future__ import annotations

__all__ = ["COMPONENT_KINDS", "DATA_DIR_ENV", "DEFAULT_ADDRESS", "LIMITS_ENV", "STORE_ENV"]

# Where `gatelearn serve` listens and a client connects when not told otherwise.
DEFAULT_ADDRESS = "127.0.0.1:50051"

# Environment variables the server reads; the command line names them in its help.
DATA_DIR_ENV = "GATELEARN_DATA_DIR"  # the directory of the model store
LIMITS_ENV = "GATELEARN_LIMITS"  # e.g. "max_epochs=100000,max_concurrent_trainings=1"
STORE_ENV = "GATELEARN_STORE"  # sqlite:///DIR or postgresql://...; default: SQLite in the data dir

# The values of ListPluginsRequest.kind, in the order ListPlugins groups components.
COMPONENT_KINDS = ("activation", "loss", "optimizer", "initializer", "task")
