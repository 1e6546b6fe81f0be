"""The in-memory columnar packet store and its immutable snapshots."""
