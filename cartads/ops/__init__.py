"""What operators see of every process: structured logs and the HTTP operations endpoint."""
