"""Hand-written companions of the API contract; the generated stubs are `gatelearn.v1`."""
