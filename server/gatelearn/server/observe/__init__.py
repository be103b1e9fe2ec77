"""Watching the server run: Prometheus metrics, the RPC observer, wiring-time hooks, logs."""
