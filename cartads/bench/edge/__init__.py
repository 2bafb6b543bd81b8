"""Edge benchmarks: GetAds throughput, latency and memory against a bare gRPC floor, and CPU per call."""
