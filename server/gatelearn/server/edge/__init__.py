"""The edge: the gRPC servicer, message encoding, exports, Search checks and the status table."""
