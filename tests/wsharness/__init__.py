"""Tests of the shared plumbing (wsharness/)."""
