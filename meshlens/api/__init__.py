"""The HTTP API: routes, responses, and the fast path for published snapshots."""
