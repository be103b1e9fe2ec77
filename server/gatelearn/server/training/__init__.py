"""The training service, its jobs, the worker pool, the worker process and its frames."""
