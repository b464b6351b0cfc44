"""Benchmarks (not tests): each starts what it needs, prints a table, or one JSON object with --json."""
