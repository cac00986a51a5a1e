"""When a run must stop: the epoch ticker, each run's deadline, and signals.

The engine's epoch only *prompts* a check: when a run's epoch deadline is reached,
wasmtime calls the run's deadline callback (in the thread running the guest), which
asks its `RunDeadline` whether to stop or how many ticks to wait for the next check.
Invariants:

- a run is stopped for its timeout only once ``timeout`` seconds have passed since
  the run's own start (ticks come every EPOCH_TICK_S from the ticker's own start, so
  a tick never decides; the check re-arms when time remains): never early, and late
  by at most one tick plus the scheduler's delay;
- the next check is never more than ``check_ticks`` away (MAX_CHECK_TICKS, or
  MAIN_THREAD_CHECK_TICKS on the main thread), so a stop asked for from another
  thread (`RunDeadline.request_stop`, a Pool's Cancel) needs at most that many epoch
  increments, and a run without a timeout can still be stopped;
- on the main thread, the Python handlers of DEFERRED_SIGNALS run inside a guard
  while a guest runs (`DeferredSignals`): Python runs a pending handler at the first
  bytecode of any host callback, where an exception would be lost (ctypes prints it
  and carries on); the guard keeps it, stops the guest and ``GuestRunner.run`` raises
  it once the guest's store is gone. No wakeup fd is read or set.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module behind signal
import enum
import math
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

EPOCH_TICK_S = 0.005
TICKER_LINGER_S = 1.0
MAX_CHECK_TICKS = 200
"""A run far from its deadline is still checked every second (200 ticks)."""
MAIN_THREAD_CHECK_TICKS = 4
"""A main-thread run is checked every 20 ms: how soon a signal's handler runs."""
# Ctrl-C, termination, and alarms (timeout helpers and pytest-timeout use SIGALRM)
DEFERRED_SIGNALS = (int(signal.SIGINT), int(signal.SIGTERM), int(signal.SIGALRM))

_MAIN_THREAD_ID = threading.main_thread().ident


def on_main_thread() -> bool:
    """True in the main thread, the only one where Python runs signal handlers."""
    return threading.get_ident() == _MAIN_THREAD_ID


class StopReason(enum.Enum):
    """Why a run's deadline check ended the run."""

    TIMEOUT = "its timeout elapsed"
    INTERRUPTED = "it was interrupted"
    EXCEPTION = "a signal handler raised"


class RunDeadline:
    """One run's start, timeout and stop request, read by its deadline checks."""

    __slots__ = ("check_ticks", "error", "started", "stop", "timeout_s")

    def __init__(self, timeout_s: float | None, started: float, *, main_thread: bool) -> None:
        self.timeout_s = timeout_s
        self.started = started
        self.check_ticks = MAIN_THREAD_CHECK_TICKS if main_thread else MAX_CHECK_TICKS
        self.stop: StopReason | None = None
        self.error: BaseException | None = None

    def ticks_to_next_check(self, now: float) -> int | None:
        """Epoch ticks until the next check, or None when the run must stop now
        (``stop`` then says why). ``now`` is ``time.perf_counter()``."""
        if self.stop is not None:
            return None
        if self.timeout_s is None:
            return self.check_ticks
        left = self.timeout_s - (now - self.started)
        if left <= 0:
            self.stop = StopReason.TIMEOUT
            return None
        # rounded up: the tick that lands at or after the deadline, or an earlier
        # check that re-arms
        return min(self.check_ticks, max(1, math.ceil(left / EPOCH_TICK_S)))

    def request_stop(self, reason: StopReason, error: BaseException | None = None) -> None:
        """Stop the run at its next check (the first reason and error are kept)."""
        if self.stop is None:
            self.stop = reason
        if error is not None and self.error is None:
            self.error = error


class DeferredSignals:
    """On the main thread, guard the Python handlers of DEFERRED_SIGNALS while a
    guest runs: a handler that raises stops the guest, and its exception is kept in
    ``deadline.error`` for the caller to raise. A handler that returns lets the run
    go on. Elsewhere, or for signals Python does not handle, nothing changes.

    Goes through ``_signal``: ``signal.getsignal``/``signal.signal`` convert to enums
    on every call (~10 us for three signals, against 0.1 us).
    """

    __slots__ = ("_deadline", "_saved")

    def __init__(self, deadline: RunDeadline) -> None:
        self._deadline = deadline
        self._saved: list[tuple[int, Any]] = []

    def __enter__(self) -> None:
        if not on_main_thread():
            return
        for signum in DEFERRED_SIGNALS:
            handler = _signal.getsignal(signum)
            if callable(handler):
                _signal.signal(signum, _guarded(handler, self._deadline))
                self._saved.append((signum, handler))

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._saved:
            _signal.signal(signum, handler)


def _guarded(handler: Callable[[int, FrameType | None], Any], deadline: RunDeadline) -> Any:
    def guard(signum: int, frame: FrameType | None) -> None:
        try:
            handler(signum, frame)
        except BaseException as exc:  # kept, and raised once the guest is stopped
            deadline.request_stop(StopReason.EXCEPTION, exc)

    return guard


class TickClock:
    """Turns elapsed time into the epoch ticks still owed, so a late wake-up pays
    every tick that fell due while it slept."""

    def __init__(self, started: float) -> None:
        self._started = started
        self._ticked = 0

    def owed(self, now: float) -> int:
        """Ticks due by ``now`` (monotonic seconds) and not yet counted; counts them."""
        owed = max(0, int((now - self._started) / EPOCH_TICK_S) - self._ticked)
        self._ticked += owed
        return owed


class EpochTicker:
    """A daemon thread that advances the engine's epoch every EPOCH_TICK_S while runs
    need it, and for TICKER_LINGER_S after the last one, so back-to-back runs do not
    each pay a thread wake-up.

    The epoch counts elapsed time, not wake-ups: a wake-up that comes late (the
    machine is loaded) adds every tick that was due. Time spent idle between runs
    is not counted. ``ticks`` is the total added, for tests.
    """

    def __init__(self, increment: Callable[[], None]) -> None:
        self._increment = increment
        self._users = 0
        self._last_release = 0.0
        self._sleeping = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._tick, name="kobako-epoch", daemon=True)
                self._thread.start()
            if self._sleeping:
                self._wake.notify()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            self._last_release = time.monotonic()

    def _tick(self) -> None:
        clock = TickClock(time.monotonic())
        while True:
            with self._lock:
                if self._idle():
                    self._sleeping = True
                    while self._idle():
                        self._wake.wait()
                    self._sleeping = False
                    clock = TickClock(time.monotonic())
            time.sleep(EPOCH_TICK_S)
            owed = clock.owed(time.monotonic())
            for _ in range(owed):
                self._increment()
            self.ticks += owed

    def _idle(self) -> bool:
        return self._users == 0 and time.monotonic() - self._last_release > TICKER_LINGER_S
