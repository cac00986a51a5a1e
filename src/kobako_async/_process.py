"""The parent's handle on one worker process: start and handshake, framed send and
receive over non-blocking pipes, kill and reap.

Invariants: only the task that holds a worker reads, writes or closes its pipes;
any task may ``terminate`` it, which the holder then sees as EOF. A frame is written
whole or the handle is TORN (the stream is unusable until the rest is written).
"""

from __future__ import annotations

import contextlib
import enum
import mmap
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio
from anyio.abc import Process

from . import _protocol as proto

STARTUP_TIMEOUT_S = 60.0
EXIT_WAIT_S = 1.0
CANCEL_GRACE_S = 1.0
READ_BYTES = 1 << 16

# The worker's first statements, before anything is imported: a terminal's Ctrl-C or
# Ctrl-Z reaches the whole process group, and shutting down is the parent's business.
# ("kobako_async._worker" stays in the command line, so ps shows what it is.)
WORKER_BOOT = (
    "import signal\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTSTP, signal.SIG_IGN)\n"
    "from kobako_async._worker import main\n"
    "main()\n"
)


class WorkerGone(Exception):
    """The worker's pipe broke or hit EOF: the process died (or is dying)."""


class WorkerState(enum.Enum):
    READY = "ready"  # the stream is whole: a frame may be sent
    TORN = "torn"  # a frame is half-written: the stream is unusable
    CLOSED = "closed"  # killed or stopped, pipes closed


START_ERRORS = (OSError, WorkerGone, proto.ProtocolError, TimeoutError)


class WorkerHandle(Protocol):
    """What the Pool needs of a worker: a real process (WorkerProcess), or a fake that
    speaks the protocol in memory (for tests of queueing, cancellation and retry)."""

    pid: int
    runs: int

    @property
    def torn(self) -> bool: ...

    @property
    def exited(self) -> bool: ...

    async def send(self, frame: bytes) -> None: ...

    async def receive(self) -> proto.Message: ...

    def started(self, run_id: int) -> bool: ...

    def terminate(self) -> None: ...

    async def kill(self) -> int | None: ...

    async def reap(self) -> int | None: ...

    async def stop(self) -> None: ...


StartWorker = Callable[[int], Awaitable[WorkerHandle]]
"""Starts a worker that accepts frames of up to the given size from it."""


class WorkerProcess:
    """One worker process and the parent's ends of its protocol pipes (non-blocking)."""

    def __init__(
        self,
        process: Process,
        to_worker: int,
        from_worker: int,
        started: mmap.mmap,
        max_frame_bytes: int = proto.MAX_FRAME_BYTES,
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.runs = 0
        self.state = WorkerState.READY
        self._out = to_worker
        self._in = from_worker
        self._reader = proto.FrameReader(max_frame_bytes)
        self._started = started  # the id of the last run the worker started

    def __repr__(self) -> str:
        return f"<WorkerProcess pid={self.pid} {self.state.value} runs={self.runs}>"

    @property
    def torn(self) -> bool:
        return self.state is WorkerState.TORN

    @property
    def exited(self) -> bool:
        """The process has ended (as far as the event loop has seen)."""
        return self.process.returncode is not None

    @classmethod
    async def start(cls, max_frame_bytes: int = proto.MAX_FRAME_BYTES) -> WorkerProcess:
        """A started worker that has said Ready; it accepts frames of up to
        ``max_frame_bytes`` from it.

        Raises:
            OSError, WorkerGone, ProtocolError, TimeoutError: it could not start.
        """
        child_in, to_worker = os.pipe()
        from_worker, child_out = os.pipe()
        started_fd = _shared_word()
        try:
            started = mmap.mmap(started_fd, proto.STARTED_BYTES)
            process = await anyio.open_process(
                [sys.executable, "-c", WORKER_BOOT, str(started_fd), str(os.getpid())],
                stdin=child_in,
                stdout=child_out,
                stderr=None,
                pass_fds=(started_fd,),
            )
        except BaseException:
            os.close(to_worker)
            os.close(from_worker)
            raise
        finally:
            for fd in (child_in, child_out, started_fd):
                os.close(fd)
        os.set_blocking(to_worker, False)
        os.set_blocking(from_worker, False)
        worker = cls(process, to_worker, from_worker, started, max_frame_bytes)
        try:
            with anyio.fail_after(STARTUP_TIMEOUT_S):
                ready = await worker.receive()
            if not isinstance(ready, proto.Ready):
                raise proto.ProtocolError(f"expected Ready, got {type(ready).__name__}")
        except WorkerGone:
            status = await worker.reap()
            raise WorkerGone(
                f"it exited during start-up with status {status} (its stderr is ours)"
            ) from None
        except BaseException:
            await worker.kill()
            raise
        return worker

    async def send(self, frame: bytes) -> None:
        """Write one whole frame. Raises WorkerGone."""
        try:
            sent = os.write(self._out, frame)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise WorkerGone(f"writing to it failed: {exc}") from None
        if sent == len(frame):
            return
        self.state = WorkerState.TORN  # until the rest is written: cancelled meanwhile, it is
        rest = memoryview(frame)[sent:]
        while rest:
            await anyio.wait_writable(self._out)
            try:
                rest = rest[os.write(self._out, rest) :]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise WorkerGone(f"writing to it failed: {exc}") from None
        self.state = WorkerState.READY

    async def receive(self) -> proto.Message:
        """The next message. Raises WorkerGone at EOF, ProtocolError on bad bytes."""
        while isinstance(message := self._reader.next_message(), proto._NeedData):
            try:
                data = os.read(self._in, READ_BYTES)
            except BlockingIOError:
                await anyio.wait_readable(self._in)
                continue
            except OSError as exc:
                raise WorkerGone(f"reading from it failed: {exc}") from None
            if not data:
                raise WorkerGone("its pipe closed")
            self._reader.feed(data)
        return message

    def started(self, run_id: int) -> bool:
        """Whether the worker started run ``run_id`` (it may be dead by now)."""
        return proto.read_started(self._started) == run_id

    def terminate(self) -> None:
        """SIGKILL the process now; the holder of the worker sees EOF."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def kill(self) -> int | None:
        """Kill, reap and close; the exit status."""
        with anyio.CancelScope(shield=True):
            self.terminate()
            status = await self.process.wait()
            await self.process.aclose()
            self._close()
        return status

    async def reap(self) -> int | None:
        """The exit status of a worker whose pipe closed. It gets a moment to exit by
        itself: killing first would reap it behind asyncio's child watcher's back."""
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(EXIT_WAIT_S):
                await self.process.wait()
        return await self.kill()

    async def stop(self) -> None:
        """Ask the worker to exit (its input pipe closes), killing it if it lingers."""
        with anyio.CancelScope(shield=True):
            if self.state is not WorkerState.CLOSED and self._out >= 0:
                os.close(self._out)
                self._out = -1
            with anyio.move_on_after(CANCEL_GRACE_S):
                await self.process.wait()
            await self.kill()

    def _close(self) -> None:
        if self.state is not WorkerState.CLOSED:
            self.state = WorkerState.CLOSED
            for fd in (self._out, self._in):
                if fd >= 0:
                    os.close(fd)
            self._started.close()


def start_failure(exc: BaseException) -> BaseException | None:
    """The worker start-up error in ``exc`` (a task group's, maybe nested), if that is
    what it is rather than a cancellation or a bug."""
    group = getattr(exc, "exceptions", None)  # an ExceptionGroup (a backport on 3.10)
    if isinstance(group, tuple):
        for inner in group:
            found = start_failure(inner)
            if found is not None:
                return found
        return None
    return exc if isinstance(exc, START_ERRORS) else None


def _shared_word() -> int:
    """A file descriptor of STARTED_BYTES of memory to share with a worker."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kobako-worker-started")
    else:  # pragma: no cover - not Linux
        handle = tempfile.TemporaryFile()
        fd = os.dup(handle.fileno())
        handle.close()
    os.ftruncate(fd, proto.STARTED_BYTES)
    return fd
