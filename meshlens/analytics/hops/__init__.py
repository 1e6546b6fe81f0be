"""Hop-prefix resolution: which node a path hop names (analytics-part-a §1.4).

`roster` holds the prefix map, `neighbours` the neighbour graph, `resolver` the four
tiers; `context` builds context pubkeys and runs the resolver for the two shapes the
analytics need (one context for a whole scope, or one per transmission).
"""
