"""The HTTP API: customers, groups, memberships and bulk imports under /v1."""
