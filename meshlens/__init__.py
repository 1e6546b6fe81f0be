"""meshlens: an analytics server for MeshCore mesh radio networks."""

__version__ = "0.1.0"
