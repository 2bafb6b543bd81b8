"""The cloud's storage: Protocols the services depend on, and their SQLite implementation."""
