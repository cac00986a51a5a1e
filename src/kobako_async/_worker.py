"""A Pool worker process: ``python -m kobako_async._worker``.

Lifecycle: load the guest module (from the disk cache), send Ready, then serve Run
messages one at a time until stdin closes. The protocol travels on the original
stdin/stdout pipes, which are moved to fresh descriptors at start; fds 0 and 1 then
point at /dev/null and stderr, so nothing printed in this process (by Python or by
native code) can corrupt a frame.

The main thread reads the input pipe itself whenever it waits for a message (a Run,
or a Service reply), so a message costs no thread hand-off. Only while the guest
executes may a watcher thread read the pipe: it acts on a Cancel by advancing the
engine's epoch past the run's deadline, which stops the guest wherever it is. A lock
and a mode switch keep the two readers apart. The watcher checks for a running guest
every WATCH_TICK_S rather than being woken for each run (a thread wake-up per run
cost more than the rest of the worker's overhead); it sleeps on a condition once the
worker has been idle for WATCH_LINGER_S.

Signals and orphans: the boot code (``_process.WORKER_BOOT``) ignores SIGINT and
SIGTSTP before anything is imported, so a terminal's Ctrl-C or Ctrl-Z reaches only
the parent, which shuts the Pool down. The worker must not outlive its parent,
whatever the guest is doing: the watcher thread exits the process when the parent's
pipe ends while a guest runs, and checks the parent's pid every PARENT_CHECK_S; on
Linux the kernel also signals the worker when the parent dies (PR_SET_PDEATHSIG),
which wakes the watcher or the main thread at once. (The pid is checked rather than
the signal trusted: the kernel sends it when the *thread* that started the worker
exits, and trio starts processes from a worker thread.)
"""

from __future__ import annotations

import collections
import ctypes
import mmap
import os
import select
import signal
import sys
import threading
import time
from typing import BinaryIO

from . import _protocol as proto
from ._guest import GuestRunner, GuestTrap, get_runner

_READ_BYTES = 1 << 16
WATCH_TICK_S = 0.005
WATCH_TICK_MS = 5
WATCH_LINGER_S = 1.0
PARENT_CHECK_S = 0.25
PARENT_CHECK_MS = 250
EXIT_ORPHANED = 3
"""The worker's exit status when it finds its parent gone."""
_PR_SET_PDEATHSIG = 1
_PARENT_DEATH_SIGNAL = signal.SIGUSR1


def _exit_if_orphaned(parent_pid: int | None) -> None:
    """Exit at once (whatever the guest is doing) if the parent is gone."""
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(EXIT_ORPHANED)


def watch_parent(parent_pid: int) -> int | None:
    """Have the kernel signal this process when its parent dies (Linux), exiting then,
    and exit now if it is already gone. Returns the fd that becomes readable when the
    signal arrives (for the watcher thread), or None where there is no such signal."""
    _exit_if_orphaned(parent_pid)
    if not sys.platform.startswith("linux"):  # pragma: no cover - the pid check remains
        return None
    # the handler runs when the main thread runs Python (a blocking read included); the
    # wakeup fd tells the watcher thread while the main thread is inside the guest
    signal.signal(_PARENT_DEATH_SIGNAL, lambda *_: _exit_if_orphaned(parent_pid))
    readable, writable = os.pipe()
    os.set_blocking(readable, False)
    os.set_blocking(writable, False)
    signal.set_wakeup_fd(writable, warn_on_full_buffer=False)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(_PARENT_DEATH_SIGNAL), 0, 0, 0) != 0:
        return None  # pragma: no cover - the pid check remains
    _exit_if_orphaned(parent_pid)  # it may have died before prctl took effect
    return readable


class _Cancelled(Exception):
    """The parent cancelled the run while the guest waited on a Service."""


class Worker:
    _guest_thread = 0  # the thread running the current guest, for _interrupt

    def __init__(
        self,
        inbox: BinaryIO,
        outbox: BinaryIO,
        started: mmap.mmap | None = None,
        parent_pid: int | None = None,
        parent_signal_fd: int | None = None,
    ) -> None:
        self._inbox = inbox.fileno()
        self._outbox = outbox.fileno()
        self._keep = (inbox, outbox)  # own the file objects, so the fds stay open
        # the parent is trusted: its frames (a Run with a long script, a reply of up to
        # max_message_bytes) are limited only by the header
        self._reader = proto.FrameReader(proto.FRAME_LIMIT_BYTES)
        self._parent_pid = parent_pid
        self._parent_signal_fd = parent_signal_fd
        self._backlog: collections.deque[proto.Message | None] = collections.deque()
        self._eof = False
        self._current: proto.Run | None = None
        self._cancel: int | None = None  # the current run's id, once it is cancelled
        # the watcher reads the pipe only while `_guest_running`, and only under the lock
        self._lock = threading.Lock()
        self._mode = threading.Condition(self._lock)
        self._guest_running = False
        self._handovers = 0  # counts mode switches: tells the watcher its poll is stale
        self._last_guest = 0.0  # time.monotonic() when a guest last ran
        self._watcher_asleep = False
        self._runners: dict[bool, GuestRunner] = {False: get_runner()}
        self._started = started  # shared with the parent: the last run id started

    def send(self, message: proto.Message) -> None:
        data = memoryview(proto.encode(message))
        while data:
            data = data[os.write(self._outbox, data) :]

    def serve(self) -> None:
        threading.Thread(target=self._watch, name="kobako-worker-watch", daemon=True).start()
        self.send(proto.Ready(os.getpid()))
        while (message := self._next()) is not None:
            if isinstance(message, proto.Run):
                self.send(self._run(message))
            # a Reply or Cancel for a run that already ended is stale: drop it

    def _next(self) -> proto.Message | None:
        """The next message, read on this thread; None at EOF or on a broken stream."""
        while True:
            if self._backlog:
                return self._backlog.popleft()
            try:
                message = self._reader.next_message()
            except proto.ProtocolError as exc:
                self._broken(exc)
                return None
            if not isinstance(message, proto._NeedData):
                return message
            if self._eof:
                return None
            data = os.read(self._inbox, _READ_BYTES)
            if not data:
                return None
            self._reader.feed(data)

    def _parse(self) -> None:
        """Move the whole messages buffered so far to the backlog, acting on a Cancel.
        Called by the thread that may read the pipe now."""
        try:
            while not isinstance(message := self._reader.next_message(), proto._NeedData):
                self._backlog.append(message)
                if isinstance(message, proto.Cancel):
                    self._cancelled(message.run_id)
        except proto.ProtocolError as exc:
            self._broken(exc)

    def _broken(self, exc: proto.ProtocolError) -> None:
        print(f"kobako worker: protocol input failed: {exc}", file=sys.stderr)
        self._eof = True
        self._backlog.append(None)
        if self._current is not None:
            self._cancelled(self._current.run_id)  # nobody is left to take the outcome

    def _cancelled(self, run_id: int) -> None:
        if self._current is not None and self._current.run_id == run_id:
            self._cancel = run_id
            self._interrupt()

    def _interrupt(self) -> None:
        """Stop the current run's guest, on the thread running it: it traps."""
        run = self._current
        if run is not None:
            self._runners[run.fuel is not None].interrupt(self._guest_thread)

    def _guest(self, running: bool) -> None:
        """Hand the pipe to the watcher (the guest runs) or take it back."""
        with self._lock:
            if running:
                # a Cancel may have come in the same read as the Run or a Reply
                self._parse()
            self._guest_running = running
            self._handovers += 1
            if running and self._watcher_asleep:
                self._mode.notify()
            elif not running:
                self._last_guest = time.monotonic()

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self._inbox, select.POLLIN)
        if self._parent_signal_fd is not None:
            poller.register(self._parent_signal_fd, select.POLLIN)
        while True:
            with self._lock:
                while (
                    not self._guest_running and time.monotonic() - self._last_guest > WATCH_LINGER_S
                ):
                    self._watcher_asleep = True
                    self._mode.wait()
                self._watcher_asleep = False
                running, handovers = self._guest_running, self._handovers
                cancelling = running and self._cancel is not None
                if cancelling:
                    # again: the run's deadline may have been set after the last push
                    self._interrupt()
            if not running:
                time.sleep(WATCH_TICK_S)
                continue
            # until something arrives (the GIL is released meanwhile), or a tick if the
            # run is being cancelled, or the next check that the parent lives
            events = poller.poll(WATCH_TICK_MS if cancelling else PARENT_CHECK_MS)
            _exit_if_orphaned(self._parent_pid)
            if self._parent_signal_fd is not None and any(
                fd == self._parent_signal_fd for fd, _ in events
            ):
                self._drain_parent_signal()
                events = [(fd, ev) for fd, ev in events if fd != self._parent_signal_fd]
            if not events:
                continue
            with self._lock:
                if not self._guest_running or self._handovers != handovers:
                    # the main thread had the pipe meanwhile: what the poll saw may be
                    # gone (a read could block), or is the main thread's to read
                    stale = True
                else:
                    stale = False
                    if not self._read_during_guest():
                        return
            if stale:
                time.sleep(WATCH_TICK_S)  # at most one spurious wake-up per tick

    def _read_during_guest(self) -> bool:
        """Read what arrived while the guest runs (the lock held); act on a Cancel.
        Returns False once the stream has ended."""
        try:
            data = os.read(self._inbox, _READ_BYTES)
        except OSError:
            data = b""
        if not data:
            # only the parent holds the pipe's other end: it is gone (or it gave up on
            # this worker), and a guest without a deadline would spin forever
            os._exit(EXIT_ORPHANED)
        self._reader.feed(data)
        self._parse()
        return not self._eof

    def _drain_parent_signal(self) -> None:
        assert self._parent_signal_fd is not None
        try:
            while os.read(self._parent_signal_fd, 64):
                pass
        except BlockingIOError:
            pass

    def _run(self, run: proto.Run) -> proto.Done | proto.Oversize:
        if self._started is not None:
            proto.write_started(self._started, run.run_id)  # before anything can be seen
        metered = run.fuel is not None
        if metered not in self._runners:
            self._runners[metered] = get_runner(metered=True)
        calls = 0

        def dispatch(payload: bytes) -> bytes:
            nonlocal calls
            calls += 1
            self._guest(False)
            try:
                if len(payload) > run.max_message_bytes:
                    # the parent answers as the Sandbox does, without the bytes
                    self.send(proto.Oversize(run.run_id, calls, len(payload), 0))
                else:
                    self.send(proto.Call(run.run_id, calls, payload))
                while True:
                    message = self._next()
                    cancelled = isinstance(message, proto.Cancel) and message.run_id == run.run_id
                    if message is None or cancelled:
                        raise _Cancelled
                    if isinstance(message, proto.Reply) and message.run_id == run.run_id:
                        return message.payload
            finally:
                self._guest(True)

        self._guest_thread = threading.get_ident()
        self._current, self._cancel = run, None
        self._guest(True)
        try:
            if self._cancel is not None:
                return proto.Done(run.run_id, None, 0, None, "cancelled before it started")
            raw = self._runners[metered].run(
                run.request,
                run.timeout,
                dispatch,
                memory_limit=run.memory_limit,
                fuel=run.fuel,
                clock_ns=run.clock_ns,
            )
        except GuestTrap as exc:
            code = exc.code.value if exc.code is not None else None
            message = str(exc)[: proto.TRAP_MESSAGE_MAX_CHARS]
            out = exc.output
            return proto.Done(
                run.run_id, None, exc.memory_bytes, code, message,
                out.stdout, out.stderr, out.stdout_truncated, out.stderr_truncated,
            )  # fmt: skip
        finally:
            self._guest(False)
            self._current = self._cancel = None
        if len(raw.payload) > run.max_message_bytes:
            return proto.Oversize(run.run_id, 0, len(raw.payload), raw.memory_bytes)
        return proto.Done(run.run_id, raw.payload, raw.memory_bytes, None, "")


def main() -> None:
    inbox = os.fdopen(os.dup(0), "rb", buffering=0)
    outbox = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    started = None
    if len(sys.argv) > 1:  # the fd of the memory shared with the parent
        started = mmap.mmap(int(sys.argv[1]), proto.STARTED_BYTES)
    parent_pid = int(sys.argv[2]) if len(sys.argv) > 2 else None
    signal_fd = watch_parent(parent_pid) if parent_pid is not None else None
    try:
        Worker(inbox, outbox, started, parent_pid, signal_fd).serve()
    except BrokenPipeError:
        pass  # the parent is gone


if __name__ == "__main__":
    main()
