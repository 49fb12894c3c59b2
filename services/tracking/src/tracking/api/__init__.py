"""The tracking service's public HTTP API."""
