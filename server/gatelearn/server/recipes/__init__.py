"""Train requests and the messages inside them as recipes and task records: what both the edge
and the training service need, so that neither imports the other. Protobuf messages, no gRPC."""
