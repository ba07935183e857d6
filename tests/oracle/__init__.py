"""Test-only reference implementations (oracles) used in differential tests of the library."""
