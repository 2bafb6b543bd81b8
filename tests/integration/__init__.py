"""End-to-end tests over real gRPC on loopback."""
