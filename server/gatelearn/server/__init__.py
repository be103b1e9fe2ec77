"""gatelearn's gRPC server: the GateLearn service, its model store and its start-up."""

from gatelearn.server.app import ServerConfig, create_server, serve
from gatelearn.server.limits import Limits

__all__ = ["Limits", "ServerConfig", "create_server", "serve"]
