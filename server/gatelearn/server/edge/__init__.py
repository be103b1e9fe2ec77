"""The edge: the gRPC servicer, message conversion, request checks and the status table."""
