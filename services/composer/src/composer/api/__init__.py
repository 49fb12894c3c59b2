"""The composer's HTTP API (JSON under /v1)."""
