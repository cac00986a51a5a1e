"""Checked by mypy, never run: each reveal_type line ends with the type it must reveal.

tests/typing/test_mypy.py runs mypy (strict) on this file and compares each revealed
type with the ``# revealed:`` comment on its line; ``kobako_async._module.Name`` is
read as ``kobako_async.Name``, so moving a class between private modules is free.
The assignments lock the error tree: mypy fails on one that does not hold.
"""

from __future__ import annotations

import builtins

import kobako_async
from kobako_async import (
    Execution,
    KobakoError,
    Pool,
    Sandbox,
    SandboxError,
    ServiceError,
    TrapError,
    Usage,
    WorkerCrashedError,
)


def sandbox_types(sandbox: Sandbox) -> None:
    ex = sandbox.run(
        "x", inputs={"x": 1}, bind={"A": object()}, seed=1, timeout=1.0, memory_limit=None
    )
    reveal_type(ex)  # noqa: F821  # revealed: kobako_async.Execution
    reveal_type(ex.value)  # noqa: F821  # revealed: Any
    reveal_type(ex.stdout)  # noqa: F821  # revealed: str
    reveal_type(ex.stderr)  # noqa: F821  # revealed: str
    reveal_type(ex.stdout_truncated)  # noqa: F821  # revealed: bool
    reveal_type(ex.stderr_truncated)  # noqa: F821  # revealed: bool
    reveal_type(ex.usage)  # noqa: F821  # revealed: kobako_async.Usage
    reveal_type(ex.usage.wall_time_s)  # noqa: F821  # revealed: float
    reveal_type(ex.usage.memory_peak_bytes)  # noqa: F821  # revealed: int
    reveal_type(sandbox.bind("A", object()))  # noqa: F821  # revealed: kobako_async.Sandbox


async def pool_types(pool: Pool) -> None:
    pending = pool.run("x", inputs={"x": 1}, bind={"A": object()}, seed=1, timeout=None, fuel=10)
    reveal_type(pending)  # type: ignore[unused-coroutine]  # noqa: F821  # revealed: typing.Coroutine[Any, Any, kobako_async.Execution]
    pending.close()
    reveal_type(await pool.run("1"))  # noqa: F821  # revealed: kobako_async.Execution
    reveal_type(pool.map(["1"]))  # noqa: F821  # revealed: kobako_async.MapBatch
    async with pool.map(["1"], concurrency=2) as batch:
        reveal_type(batch)  # noqa: F821  # revealed: kobako_async.MapBatch
        async for item in batch:
            reveal_type(item)  # noqa: F821  # revealed: kobako_async.MapResult
    async for result in pool.map(["1", kobako_async.Job("2")], concurrency=4):
        reveal_type(result)  # noqa: F821  # revealed: kobako_async.MapResult
        reveal_type(result.index)  # noqa: F821  # revealed: int
        reveal_type(result.execution)  # noqa: F821  # revealed: kobako_async.Execution | None
        reveal_type(result.error)  # noqa: F821  # revealed: kobako_async.KobakoError | None


def error_types(
    sandbox_error: SandboxError,
    service_error: ServiceError,
    trap: TrapError,
    crashed: WorkerCrashedError,
) -> None:
    reveal_type(sandbox_error.klass)  # noqa: F821  # revealed: str
    reveal_type(sandbox_error.message)  # noqa: F821  # revealed: str
    reveal_type(sandbox_error.backtrace)  # noqa: F821  # revealed: list[str]
    reveal_type(sandbox_error.execution)  # noqa: F821  # revealed: kobako_async.Execution
    reveal_type(service_error.klass)  # noqa: F821  # revealed: str
    reveal_type(service_error.message)  # noqa: F821  # revealed: str
    reveal_type(service_error.execution)  # noqa: F821  # revealed: kobako_async.Execution
    reveal_type(trap.execution)  # noqa: F821  # revealed: kobako_async.Execution
    reveal_type(crashed.exit_status)  # noqa: F821  # revealed: int | None
    empty = Execution(None, "", "", False, False, Usage(0.0, 0))
    timeout = kobako_async.TimeoutError("late", empty)
    as_builtin: builtins.TimeoutError = timeout
    as_trap: TrapError = timeout
    as_base: KobakoError = kobako_async.MemoryLimitError("full", empty)
    as_sandbox: SandboxError = kobako_async.ServiceCallLimitError("K", "m", [], empty)
    as_service: ServiceError = kobako_async.NoServiceError("K", "m", empty)
    invalid: TypeError = kobako_async.InvalidScriptError("bad")
    also_invalid: ValueError = kobako_async.InvalidScriptError("bad")
    reveal_type([as_builtin, as_trap, as_base, as_sandbox, as_service])  # noqa: F821  # revealed: list[Exception]
    reveal_type((invalid, also_invalid))  # noqa: F821  # revealed: tuple[TypeError, ValueError]
