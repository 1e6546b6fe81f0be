"""A deterministic MeshCore mesh simulator that emits real wire-format frames."""
