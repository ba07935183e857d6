"""Deterministic pseudo-randomness in SQL: every draw is a hash of (seed, salt, row keys).

No random state: a row's values depend only on the seed and its own keys, so the same seed
gives the same rows whatever the size, thread count or order of evaluation, and growing a
table (more episodes) never changes the rows already there.
"""
from __future__ import annotations

import zlib

_RESOLUTION = 1_000_003  # a prime, so draws are close to uniform on [0, 1)


class Draws:
    """SQL expressions for draws keyed by a seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def row_hash(self, *keys: str) -> str:
        """The row's base hash; compute it once per row and pass it as ``base=`` to many draws."""
        return f"hash({self.seed}, {', '.join(keys)})"

    def hash(self, salt: str, *keys: str, base: str | None = None) -> str:
        # DuckDB combines the hashes of several arguments linearly (XOR), so draws that differ only
        # by a salt argument would be correlated; re-hashing the row's hash XOR the salt mixes them.
        # The salt is an integer literal: hashing integers is several times faster than strings.
        base = base or self.row_hash(*keys)
        return f"hash(xor({base}, CAST({zlib.crc32(salt.encode())} AS UBIGINT)))"

    def uniform(self, salt: str, *keys: str, base: str | None = None) -> str:
        """A DOUBLE on [0, 1)."""
        return f"(({self.hash(salt, *keys, base=base)} % {_RESOLUTION}) / {_RESOLUTION}.0)"

    def integer(self, salt: str, n: str, *keys: str, base: str | None = None) -> str:
        """A BIGINT on [0, n); ``n`` is a SQL expression (> 0)."""
        return f"CAST({self.hash(salt, *keys, base=base)} % CAST({n} AS UBIGINT) AS BIGINT)"

    def pick(self, salt: str, values: list[str], *keys: str) -> str:
        """One of ``values`` (SQL literals), uniformly."""
        array = "[" + ", ".join(values) + "]"
        return f"{array}[1 + {self.integer(salt, str(len(values)), *keys)}]"
