"""Helpers shared by the test tiers (and the benchmarks): ports, servers, containers, paths."""
