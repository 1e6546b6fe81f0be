"""The MeshCore wire format: frames to records and back (pure: no I/O, no clock)."""
