"""The ``cartads-cloud`` process: configuration, start-up and shutdown of every service, its CLI."""
