"""gatelearn API v1: the generated protobuf messages and gRPC stubs of gatelearn.proto."""
