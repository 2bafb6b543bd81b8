"""The ``cartads-edge`` process: CLI, start-up and shutdown, worker processes and CPU policy."""
