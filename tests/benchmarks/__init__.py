"""Tests of the benchmarks' own plumbing (they measure; these check how they run)."""
