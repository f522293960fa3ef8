"""Feed scheduling: the polling policy (pure functions), the `monitor run` loop and its metrics."""
