"""Cloud benchmarks: index compiles, index distribution, event ingest and reports."""
