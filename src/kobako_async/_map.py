"""``Pool.map``: many runs, results in completion order, every failure a value.

A batch is a structured child of its consumer: ``async with pool.map(inputs) as
results`` runs the batch's tasks in a task group entered in the consumer's own task,
so leaving the block (early, or with an error) cancels whatever is still running,
and nothing the batch does can reach the Pool's own tasks. Iterated without
``async with`` (``async for r in pool.map(...)``), the batch runs under the Pool
instead, just as contained, and stops when the iterator is closed or dropped, or
when the Pool closes.

What a batch guarantees: every input read becomes exactly one MapResult (a job's
Exception becomes its ``error``: a KobakoError as raised, anything else wrapped in
JobError); an input iterable that raises makes the consumer's next read raise that
exception once the jobs in flight have settled and their results were read; a
BaseException from a job (KeyboardInterrupt from a Service) cancels the batch and is
raised to the consumer.
"""

from __future__ import annotations

import contextlib
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import JobError, KobakoError
from ._limits import KEEP
from ._sandbox import Execution


@dataclass(frozen=True, slots=True)
class Job:
    """One script for ``Pool.map``, with the per-run options of ``Pool.run``
    (``inputs`` last, so positional Jobs keep their meaning)."""

    script: str
    bind: Mapping[str, Any] | None = None
    seed: int | None = None
    timeout: float | None = KEEP
    memory_limit: int | None = KEEP
    fuel: int | None = KEEP
    queue_timeout: float | None = KEEP
    inputs: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MapResult:
    """One ``Pool.map`` result: the input's index and its Execution or error."""

    index: int
    execution: Execution | None
    error: KobakoError | None


Inputs = Iterable[str | Job] | AsyncIterable[str | Job]
RunJob = Callable[[Job], Awaitable[Execution]]
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], object]


@dataclass(frozen=True, slots=True)
class _Raised:
    """The batch's end by an exception for the consumer (the inputs', or a job's
    BaseException)."""

    error: BaseException


class MapBatch:
    """The results of one ``Pool.map``: an async context manager and async iterator."""

    def __init__(self, run_job: RunJob, inputs: Inputs, concurrency: int, spawn: Spawn) -> None:
        self._run_job = run_job
        self._inputs = inputs
        self._concurrency = concurrency
        self._spawn = spawn  # runs the batch under the Pool, when iterated without `with`
        self._receive: MemoryObjectReceiveStream[MapResult | _Raised] | None = None
        self._group: TaskGroup | None = None
        self._scope: anyio.CancelScope | None = None  # the batch's, once it runs
        self._fatal: BaseException | None = None

    async def __aenter__(self) -> MapBatch:
        send = self._open()
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._feed, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._group is not None
        self._stop()
        self._group.cancel_scope.cancel()
        # the batch's tasks contain their errors, so the group ends quietly: whatever
        # the consumer raised goes on as it was (not wrapped in an ExceptionGroup)
        await self._group.__aexit__(None, None, None)
        return None

    def __aiter__(self) -> AsyncIterator[MapResult]:
        return self

    async def __anext__(self) -> MapResult:
        if self._receive is None:
            send = self._open()
            self._spawn(lambda: self._feed(send))
        assert self._receive is not None
        try:
            item = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(item, _Raised):
            self._stop()
            raise item.error
        return item

    async def aclose(self) -> None:
        """Stop the batch: runs in flight are cancelled, the rest never start."""
        self._stop()

    def __del__(self) -> None:
        # dropped unfinished: the batch's next send fails, and it stops itself. Only
        # the stream is closed here: cancelling needs the event loop, maybe gone by now
        receive = getattr(self, "_receive", None)
        if receive is not None:
            with contextlib.suppress(RuntimeError):
                receive.close()

    def _open(self) -> MemoryObjectSendStream[MapResult | _Raised]:
        if self._receive is not None:
            raise RuntimeError("a Pool.map batch can be iterated or entered only once")
        send, self._receive = anyio.create_memory_object_stream[MapResult | _Raised](
            self._concurrency
        )
        return send

    def _stop(self) -> None:
        receive, scope = getattr(self, "_receive", None), getattr(self, "_scope", None)
        if receive is not None:
            receive.close()
        if scope is not None:
            scope.cancel()

    async def _feed(self, send: MemoryObjectSendStream[MapResult | _Raised]) -> None:
        """Start a job per input (at most ``concurrency`` at once), then report how the
        inputs ended once every job has settled."""
        failure: BaseException | None = None
        slots = anyio.Semaphore(self._concurrency)
        with send, anyio.CancelScope() as self._scope:
            async with anyio.create_task_group() as jobs:
                index = 0

                async def start(item: str | Job) -> None:
                    nonlocal index
                    await slots.acquire()
                    jobs.start_soon(self._one, index, item, send, slots, jobs.cancel_scope)
                    index += 1

                try:
                    if isinstance(self._inputs, AsyncIterable):
                        iterator = aiter(self._inputs)
                        try:
                            async for item in iterator:
                                await start(item)
                        finally:
                            await _aclose(iterator)
                    else:
                        for item in self._inputs:
                            await start(item)
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # the inputs raised: the consumer's to see
                    failure = exc
            failure = self._fatal or failure
            if failure is not None:
                try:
                    await send.send(_Raised(failure))
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # the consumer left: nobody to tell

    async def _one(
        self,
        index: int,
        item: str | Job,
        send: MemoryObjectSendStream[MapResult | _Raised],
        slots: anyio.Semaphore,
        jobs: anyio.CancelScope,
    ) -> None:
        try:
            try:
                job = item if isinstance(item, Job) else Job(item)
                result = MapResult(index, await self._run_job(job), None)
            except KobakoError as exc:
                result = MapResult(index, None, exc)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                error = JobError(f"job {index} failed: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                result = MapResult(index, None, error)
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: stop the batch
                if self._fatal is None:
                    self._fatal = exc
                jobs.cancel()
                return
            try:
                await send.send(result)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                jobs.cancel()  # the consumer stopped reading
        finally:
            slots.release()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    """Close an async generator of inputs left unfinished (also when cancelled)."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        with anyio.CancelScope(shield=True):
            await close()
