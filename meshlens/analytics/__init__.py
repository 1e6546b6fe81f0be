"""Analytics: pure functions of a snapshot and a query, listed once in `registry.ANALYTICS`."""
