"""The resource API (api-resources.md): stats, nodes, observers, packets, channels.

Answers come from the in-memory store's snapshot and its small node and observer tables;
the database is read only for the few fields the store does not hold (an observation's
score, the dropped-packet count), one indexed lookup at a time.
"""
