"""Benchmarks for kobako_async: ``python -m benchmarks`` (see ``__main__``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""

XOR_LOOP = "x=0; i=0; while i < 100000; x ^= i; i += 1; end; x"
FIB_25 = "def fib(n) = n < 2 ? n : fib(n-1) + fib(n-2); fib(25)"
ARRAY_100K = "a = Array.new(100_000) { |i| i }; a.size"
SMALL_ALLOC = "a = (1..1000).map { |i| i.to_s * 3 }; a.size"

COMPUTE_SCRIPTS = {"xor_loop": XOR_LOOP, "fib25": FIB_25}
"""The scripts timed both in the guest and in native mruby."""
