"""A Pool worker process: ``python -m kobako_async._worker``.

Lifecycle: load the guest module (from the disk cache), send Ready, then serve Run
messages one at a time until stdin closes. The protocol travels on the original
stdin/stdout pipes, which are moved to fresh descriptors at start; fds 0 and 1 then
point at /dev/null and stderr, so nothing printed in this process (by Python or by
native code) can corrupt a frame.

A reader thread owns the input pipe. It hands messages to the main thread through
a queue and acts on Cancel at once by advancing the engine's epoch past the run's
deadline, which stops the guest wherever it is.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import BinaryIO

from . import _protocol as proto
from ._guest import EPOCH_TICK_S, GuestRunner, GuestTrap, get_runner

_READ_BYTES = 1 << 16


class _Cancelled(Exception):
    """The parent cancelled the run while the guest waited on a Service."""


class Worker:
    def __init__(self, inbox: BinaryIO, outbox: BinaryIO) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._messages: queue.SimpleQueue[proto.Message | None] = queue.SimpleQueue()
        self._current: proto.Run | None = None
        self._lock = threading.Lock()
        self._runners: dict[bool, GuestRunner] = {False: get_runner()}

    def send(self, message: proto.Message) -> None:
        self._outbox.write(proto.encode(message))
        self._outbox.flush()

    def serve(self) -> None:
        threading.Thread(target=self._read, name="kobako-worker-reader", daemon=True).start()
        self.send(proto.Ready(os.getpid()))
        while True:
            message = self._messages.get()
            if message is None:
                return  # the parent closed the pipe
            if isinstance(message, proto.Run):
                self.send(self._run(message))
            # a Reply or Cancel for a run that already ended is stale: drop it

    def _read(self) -> None:
        reader = proto.FrameReader()
        try:
            while data := os.read(self._inbox.fileno(), _READ_BYTES):
                reader.feed(data)
                while not isinstance(message := reader.next_message(), proto._NeedData):
                    if isinstance(message, proto.Cancel):
                        self._interrupt(message.run_id)
                    self._messages.put(message)
        except (OSError, proto.ProtocolError) as exc:
            print(f"kobako worker: protocol input failed: {exc}", file=sys.stderr)
        self._messages.put(None)
        with self._lock:
            run = self._current
        if run is not None:
            self._interrupt(run.run_id)  # the parent is gone: stop the guest

    def _interrupt(self, run_id: int) -> None:
        with self._lock:
            run = self._current
        if run is None or run.run_id != run_id:
            return
        if run.timeout is None:
            return  # no finite deadline to push past: the parent kills us after its grace
        runner = self._runners[run.fuel is not None]
        for _ in range(round(run.timeout / EPOCH_TICK_S) + 2):
            runner.engine.increment_epoch()

    def _run(self, run: proto.Run) -> proto.Done:
        metered = run.fuel is not None
        if metered not in self._runners:
            self._runners[metered] = get_runner(metered=True)
        calls = 0

        def dispatch(payload: bytes) -> bytes:
            nonlocal calls
            calls += 1
            self.send(proto.Call(run.run_id, calls, payload))
            while True:
                message = self._messages.get()
                cancelled = isinstance(message, proto.Cancel) and message.run_id == run.run_id
                if message is None or cancelled:
                    raise _Cancelled
                if isinstance(message, proto.Reply) and message.run_id == run.run_id:
                    return message.payload

        with self._lock:
            self._current = run
        try:
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
            return proto.Done(run.run_id, None, exc.memory_bytes, code, str(exc))
        finally:
            with self._lock:
                self._current = None
        return proto.Done(run.run_id, raw.payload, raw.memory_bytes, None, "")


def main() -> None:
    inbox = os.fdopen(os.dup(0), "rb", buffering=0)
    outbox = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    Worker(inbox, outbox).serve()


if __name__ == "__main__":
    main()
