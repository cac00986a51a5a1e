"""The wasmtime layer: one Engine per process, the compiled Module cached on disk,
and a fresh guest instance for every run.

The hot path (`GuestRunner.run`) goes through wasmtime's C API rather than the
friendly wrappers: `Func.__call__` re-reads the function type and boxes every value
(~14 us a call) and `Instance.exports` builds an object per export (~37 us), while
`wasmtime_func_call_unchecked` with a reused raw buffer costs ~2.4 us. A run is
two crossings: instantiate and `kobako_run`; the request goes into a static inbox
whose address is the same in every instance of the baked image.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import wasmtime
from wasmtime import _ffi as ffi

from ._deadline import (
    DeferredSignals,
    EpochTicker,
    RunDeadline,
    StopReason,
    on_main_thread,
)
from ._errors import GuestLoadError
from ._guestfile import ABI_VERSION, read_guest
from ._guestfile import default_wasm_path as default_wasm_path  # re-exported
from ._module_cache import default_cache_dir, load_module

# Pooling allocator: instance slots are reused, and the first pages of each slot's
# memory stay mapped between runs, so a fresh instance does not page-fault its way
# through the booted heap again.
POOL_INSTANCES = 128
POOL_MAX_MEMORY_BYTES = 4 << 30
POOL_KEEP_RESIDENT_BYTES = 4 << 20
MAX_WASM_STACK_BYTES = 2 << 20
WASM_PAGE_BYTES = 64 << 10

WASI = "wasi_snapshot_preview1"
WASI_EBADF = 8
WASI_EFAULT = 21

# The guest's two kobako_stream structs (guest/mrbgems/mruby-kobako/src/output.c), read
# after a trap: data pointer, length, capacity, failed flag, limit, truncated flag.
_STREAM = struct.Struct("<IIIB3xIB3x")
_NIL_REQUEST = msgpack.packb([b"nil", 0, 0, [], 0], use_bin_type=True)
_UPDATE_DEADLINE_CONTINUE = 0


def _initial_memory_bytes(module: wasmtime.Module) -> int:
    """The size of the guest's memory before it runs (its baked image included)."""
    for export in module.exports:
        if isinstance(export.type, wasmtime.MemoryType):
            return export.type.limits.min * WASM_PAGE_BYTES
    raise RuntimeError("guest exports no memory")


@dataclass(frozen=True, slots=True)
class CapturedOutput:
    """What the guest had printed when it trapped, read from its buffers."""

    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False


NO_OUTPUT = CapturedOutput()


class GuestTrap(Exception):
    """The guest trapped or broke the ABI; `code` is the wasmtime TrapCode, if any
    (INTERRUPT when its deadline check stopped it), `output` what it had printed."""

    def __init__(self, message: str, code: wasmtime.TrapCode | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.memory_bytes = 0
        self.output = NO_OUTPUT


@dataclass(frozen=True, slots=True)
class RawOutcome:
    """What one guest run produced, before it is decoded."""

    payload: bytes
    memory_bytes: int


def _engine_config(metered: bool) -> tuple[wasmtime.Config, str]:
    """The Engine configuration, and a string naming it for the cache key.

    ``metered`` engines count fuel; it slows every run, so it has its own engine.
    """
    config = wasmtime.Config()
    config.consume_fuel = metered
    config.wasm_exceptions = True  # mruby's setjmp/longjmp lowering needs it
    config.epoch_interruption = True
    config.max_wasm_stack = MAX_WASM_STACK_BYTES
    pool = ffi.wasmtime_pooling_allocation_config_new()
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, POOL_INSTANCES)
    ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, POOL_INSTANCES)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, POOL_INSTANCES)
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, POOL_MAX_MEMORY_BYTES)
    ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(
        pool, POOL_KEEP_RESIDENT_BYTES
    )
    ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    ffi.wasmtime_pooling_allocation_config_delete(pool)
    key = (
        f"exceptions,epoch,fuel={metered},stack={MAX_WASM_STACK_BYTES},pool={POOL_MAX_MEMORY_BYTES}"
    )
    return config, key


Dispatch = Callable[[bytes], bytes]


class _HostCalls:
    """The guest's ``kobako`` imports, as unchecked host functions.

    ``dispatch(call, call_len, out, out_cap) -> reply_len`` hands a Service call to
    the current run's Dispatch and writes the reply into ``out`` when it fits;
    otherwise ``take_reply(buf)`` copies it into a buffer the guest sized. The
    current run lives in a thread-local: each thread runs one guest at a time.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.dispatch_cb = ffi.wasmtime_func_unchecked_callback_t(self._dispatch)
        self.take_reply_cb = ffi.wasmtime_func_unchecked_callback_t(self._take_reply)
        self.clock_cb = ffi.wasmtime_func_unchecked_callback_t(self._clock_time_get)
        self.deadline_cb = _DEADLINE_CALLBACK(self._on_deadline)

    def define(self, linker: wasmtime.Linker) -> None:
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        for module, name, ty, cb in (
            (b"kobako", b"dispatch", wasmtime.FuncType([i32] * 4, [i64]), self.dispatch_cb),
            (b"kobako", b"take_reply", wasmtime.FuncType([i32], []), self.take_reply_cb),
            (
                WASI.encode(),
                b"clock_time_get",
                wasmtime.FuncType([i32, i64, i32], [i32]),
                self.clock_cb,
            ),
        ):
            field = name
            error = ffi.wasmtime_linker_define_func_unchecked(
                linker.ptr(),
                module,
                len(module),
                field,
                len(field),
                ty.ptr(),
                cb,
                None,
                _NO_FINALIZER,
            )
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)

    def _memory(self, caller: Any) -> tuple[int, int]:
        ctx = ffi.wasmtime_caller_context(caller)
        memory = ctypes.byref(self.local.instance.memory)
        base = ctypes.addressof(ffi.wasmtime_memory_data(ctx, memory).contents)
        return base, ffi.wasmtime_memory_data_size(ctx, memory)

    def _dispatch(self, _env: Any, caller: Any, raw: Any, _n: int) -> int:
        try:
            call_ptr, call_len = raw[0].i32 & 0xFFFFFFFF, raw[1].i32 & 0xFFFFFFFF
            out_ptr, out_cap = raw[2].i32 & 0xFFFFFFFF, raw[3].i32 & 0xFFFFFFFF
            base, size = self._memory(caller)
            if call_ptr + call_len > size or out_ptr + out_cap > size:
                return _new_trap("guest passed a service call outside its memory")
            dispatch: Dispatch | None = self.local.dispatch
            if dispatch is None:
                return _new_trap("guest made a service call outside a run")
            reply = dispatch(ctypes.string_at(base + call_ptr, call_len))
            if len(reply) <= out_cap:
                ctypes.memmove(base + out_ptr, reply, len(reply))
            else:
                self.local.pending = reply
            raw[0].i64 = len(reply)
            return 0
        except BaseException as exc:  # never let an exception unwind through wasm
            return _trap_for(exc, "service dispatch failed")

    def _clock_time_get(self, _env: Any, caller: Any, raw: Any, _n: int) -> int:
        """WASI clock_time_get: the run's fixed instant, or the real clock if permissive."""
        try:
            out_ptr = raw[2].i32 & 0xFFFFFFFF
            base, size = self._memory(caller)
            if out_ptr + 8 > size:
                raw[0].i32 = WASI_EFAULT
                return 0
            now_ns = self.local.clock_ns
            if now_ns is None:
                now_ns = time.time_ns() if raw[0].i32 == 0 else time.monotonic_ns()
            ctypes.memmove(base + out_ptr, now_ns.to_bytes(8, "little"), 8)
            raw[0].i32 = 0
            return 0
        except BaseException as exc:
            return _trap_for(exc, "clock failed")

    def _on_deadline(self, _ctx: Any, _data: Any, delta: Any, kind: Any) -> int:
        """The run's epoch deadline came: stop it (an error traps the guest), or set
        the ticks to its next check."""
        try:
            deadline: RunDeadline = self.local.deadline
            ticks = deadline.ticks_to_next_check(time.perf_counter())
            if ticks is None:
                assert deadline.stop is not None
                return _new_error(f"run stopped: {deadline.stop.value}")
            delta[0] = ticks
            kind[0] = _UPDATE_DEADLINE_CONTINUE
            return 0
        except BaseException as exc:
            return _new_error(f"deadline check failed: {exc!r}")

    def _take_reply(self, _env: Any, caller: Any, raw: Any, _n: int) -> int:
        try:
            reply: bytes | None = getattr(self.local, "pending", None)
            self.local.pending = None
            base, size = self._memory(caller)
            out_ptr = raw[0].i32 & 0xFFFFFFFF
            if reply is None or out_ptr + len(reply) > size:
                return _new_trap("guest took a service reply it was not given")
            ctypes.memmove(base + out_ptr, reply, len(reply))
            return 0
        except BaseException as exc:
            return _trap_for(exc, "service reply failed")


_escaped = threading.local()
"""A host function's KeyboardInterrupt, SystemExit or other non-Exception: the
function returns a trap to stop the guest, and the trap re-raises this instead."""


def _trap_for(exc: BaseException, what: str) -> int:
    if not isinstance(exc, Exception):
        _escaped.exc = exc
    try:
        text = repr(exc)
    except BaseException:  # a trap must be returned whatever the exception does
        text = type(exc).__name__
    return _new_trap(f"{what}: {text}")


def _new_trap(message: str) -> int:
    data = message.encode()
    trap = ffi.wasmtime_trap_new(data, len(data))
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


def _new_error(message: str) -> int:
    data = message.encode()
    error = ffi.wasmtime_error_new(data)
    return ctypes.cast(error, ctypes.c_void_p).value or 0


_DEADLINE_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ffi.wasmtime_update_deadline_kind_t),
)


def _define_wasi_stubs(linker: wasmtime.Linker, module: wasmtime.Module) -> None:
    """Satisfy the guest's WASI imports with calls that grant nothing.

    The guest captures output itself, so no file descriptor carries data, and the
    clock comes from _HostCalls. Nothing of the host is reachable through these.
    """
    for imp in module.imports:
        if imp.module == "kobako" or (imp.module, imp.name) == (WASI, "clock_time_get"):
            continue  # defined by _HostCalls
        if imp.module != WASI or not isinstance(imp.type, wasmtime.FuncType):
            raise RuntimeError(
                f"guest imports {imp.module}.{imp.name}, which kobako does not provide"
            )
        linker.define_func(imp.module, imp.name or "", imp.type, lambda *_a: WASI_EBADF)


@dataclass(slots=True)
class _Instance:
    """A fresh guest instance in its own store, with the exports a run needs."""

    store: Any
    ctx: Any
    instance: Any
    memory: Any
    run: Any


class GuestRunner:
    """The compiled guest, ready to instantiate. One per process; thread-safe."""

    def __init__(
        self, wasm_path: Path | None = None, cache_dir: Path | None = None, *, metered: bool = False
    ) -> None:
        path = wasm_path or default_wasm_path()
        wasm, self.info = read_guest(path)
        self.metered = metered
        config, config_key = _engine_config(metered)
        self.engine = wasmtime.Engine(config)
        try:
            self.module = load_module(
                self.engine, wasm, config_key, cache_dir or default_cache_dir()
            )
            linker = wasmtime.Linker(self.engine)
            _define_wasi_stubs(linker, self.module)
            self._host = _HostCalls()
            self._host.define(linker)
            self._pre = linker.instantiate_pre(self.module)
            self.initial_memory_bytes = _initial_memory_bytes(self.module)
            self._engine_ptr = self.engine.ptr()
            self._inbox, self._inbox_size, self._output_state = self._check_abi()
        except (wasmtime.WasmtimeError, wasmtime.Trap, RuntimeError) as exc:
            # passed the file checks but wasmtime refuses it: still the file's fault
            raise GuestLoadError(path, f"cannot be loaded: {exc}") from exc
        self._ticker = EpochTicker(lambda: ffi.wasmtime_engine_increment_epoch(self._engine_ptr))
        self._deadlines: dict[int, RunDeadline] = {}
        self.min_memory_bytes = self._nil_run_memory()
        """The least memory_limit a run can have: the memory a ``nil`` run ends with."""

    def _check_abi(self) -> tuple[int, int, int]:
        """Check the guest's ABI version; return its inbox (address, size) and the
        address of its output streams."""
        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(1 << 40)
        if self.metered:
            store.set_fuel(1 << 40)
        funcs = self._pre.instantiate(store).exports(store)
        version, inbox = funcs["kobako_abi_version"], funcs["kobako_inbox"]
        assert isinstance(version, wasmtime.Func) and isinstance(inbox, wasmtime.Func)
        if version(store) != ABI_VERSION:
            raise RuntimeError(f"its ABI version is {version(store)}, expected {ABI_VERSION}")
        output = funcs.get("kobako_output_state")
        if not isinstance(output, wasmtime.Func):
            raise RuntimeError("it does not export kobako_output_state: rebuild it")
        packed = inbox(store) & 0xFFFFFFFFFFFFFFFF
        return packed >> 32, packed & 0xFFFFFFFF, output(store) & 0xFFFFFFFF

    def _nil_run_memory(self) -> int:
        raw = self.run(_NIL_REQUEST, None, _no_dispatch, fuel=(1 << 40) if self.metered else None)
        return raw.memory_bytes

    def _instantiate(self, memory_limit: int | None = None) -> _Instance:
        if memory_limit is not None and memory_limit < self.initial_memory_bytes:
            too_small = GuestTrap(
                f"memory limit of {memory_limit} bytes is below the guest's initial"
                f" {self.initial_memory_bytes} bytes"
            )
            too_small.memory_bytes = self.initial_memory_bytes
            raise too_small
        store = ffi.wasmtime_store_new(self._engine_ptr, None, _NO_FINALIZER)
        if memory_limit is not None:
            ffi.wasmtime_store_limiter(store, memory_limit, -1, -1, -1, -1)
        ctx = ffi.wasmtime_store_context(store)
        instance = ffi.wasmtime_instance_t()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        try:
            error = ffi.wasmtime_instance_pre_instantiate(
                self._pre.ptr(), ctx, ctypes.byref(instance), ctypes.byref(trap)
            )
            _raise_on_failure(error, trap)
            memory = _export(ctx, instance, _MEMORY).of.memory
            run = _export(ctx, instance, _RUN).of.func
            return _Instance(store, ctx, instance, memory, run)
        except BaseException:
            ffi.wasmtime_store_delete(store)
            raise

    def run(
        self,
        request: bytes,
        timeout_s: float | None,
        dispatch: Dispatch,
        *,
        memory_limit: int | None = None,
        fuel: int | None = None,
        clock_ns: int | None = 0,
    ) -> RawOutcome:
        """Run one request in a fresh instance, serving its Service calls with ``dispatch``.

        ``timeout_s`` counts from this call; ``memory_limit`` caps linear memory in
        bytes, ``fuel`` the instructions (on a metered runner), ``clock_ns`` fixes the
        guest's clock (None: real time).

        Raises:
            GuestTrap: the guest trapped or broke the ABI; its code is INTERRUPT when
                the timeout elapsed or `interrupt` stopped it, its ``output`` what the
                guest had printed.
            BaseException: what a handler of a DEFERRED_SIGNALS signal raised
                (KeyboardInterrupt) while the guest ran on the main thread; the guest
                is stopped first.
        """
        deadline = RunDeadline(timeout_s, time.perf_counter(), main_thread=on_main_thread())
        thread_id = threading.get_ident()
        inst = self._instantiate(memory_limit)
        local = self._host.local
        # a Service may run another guest on this thread: its run ends before this one
        outer = getattr(local, "run_state", None), self._deadlines.get(thread_id)
        local.instance, local.dispatch, local.pending = inst, dispatch, None
        local.clock_ns, local.deadline = clock_ns, deadline
        local.run_state = (inst, dispatch, clock_ns, deadline)
        self._deadlines[thread_id] = deadline
        self._ticker.acquire()
        try:
            with DeferredSignals(deadline):
                try:
                    self._arm(inst, deadline, fuel)
                    return self._run_in(inst, request)
                except GuestTrap as exc:
                    exc.memory_bytes = ffi.wasmtime_memory_data_size(
                        inst.ctx, ctypes.byref(inst.memory)
                    )
                    exc.output = self._read_output(inst)
                    if deadline.stop in (StopReason.TIMEOUT, StopReason.INTERRUPTED):
                        exc.code = wasmtime.TrapCode.INTERRUPT
                    raise
        finally:
            self._ticker.release()
            self._restore(thread_id, *outer)
            # resets the pooled memory slot: about half of a `nil` run's time
            ffi.wasmtime_store_delete(inst.store)
            if deadline.error is not None:
                raise deadline.error

    def _restore(
        self, thread_id: int, run_state: tuple[Any, ...] | None, deadline: RunDeadline | None
    ) -> None:
        """Put back the host-call state of the run this one was nested in, if any."""
        local = self._host.local
        local.run_state, local.pending = run_state, None
        if run_state is None:
            local.instance = local.dispatch = local.deadline = None
            del self._deadlines[thread_id]
        else:
            local.instance, local.dispatch, local.clock_ns, local.deadline = run_state
            self._deadlines[thread_id] = deadline  # type: ignore[assignment]

    def interrupt(self, thread_id: int) -> bool:
        """Stop the run on thread ``thread_id`` now; callable from any thread. That
        run raises GuestTrap with code INTERRUPT. Returns False if none is running."""
        deadline = self._deadlines.get(thread_id)
        if deadline is None:
            return False
        deadline.request_stop(StopReason.INTERRUPTED)
        for _ in range(deadline.check_ticks + 1):  # past its next check, wherever it is
            ffi.wasmtime_engine_increment_epoch(self._engine_ptr)
        return True

    def _arm(self, inst: _Instance, deadline: RunDeadline, fuel: int | None) -> None:
        if fuel is not None:
            error = ffi.wasmtime_context_set_fuel(inst.ctx, fuel)
            if error:
                raise GuestTrap(str(wasmtime.WasmtimeError._from_ptr(error)))
        ffi.wasmtime_store_epoch_deadline_callback(
            inst.store, self._host.deadline_cb, None, _NO_FINALIZER
        )
        ticks = deadline.ticks_to_next_check(time.perf_counter())
        ffi.wasmtime_context_set_epoch_deadline(inst.ctx, ticks or 1)

    def _read_output(self, inst: _Instance) -> CapturedOutput:
        """What the guest had printed, from its stream buffers (after a trap, when no
        outcome exists). Nothing is trusted: lengths are capped by the guest's own
        limits and by its memory."""
        ctx, memory = inst.ctx, ctypes.byref(inst.memory)
        size = ffi.wasmtime_memory_data_size(ctx, memory)
        if self._output_state + 2 * _STREAM.size > size:
            return NO_OUTPUT
        base = ctypes.addressof(ffi.wasmtime_memory_data(ctx, memory).contents)
        state = ctypes.string_at(base + self._output_state, 2 * _STREAM.size)
        texts, cuts = [], []
        for index in (0, 1):
            data, length, _cap, _failed, limit, truncated = _STREAM.unpack_from(
                state, index * _STREAM.size
            )
            kept = min(length, limit)
            if data == 0 or data + kept > size:
                kept = 0
            texts.append(ctypes.string_at(base + data, kept) if kept else b"")
            cuts.append(bool(truncated) or kept < length)
        return CapturedOutput(texts[0], texts[1], cuts[0], cuts[1])

    def _run_in(self, inst: _Instance, request: bytes) -> RawOutcome:
        ctx, memory = inst.ctx, ctypes.byref(inst.memory)
        raw = (ffi.wasmtime_val_raw_t * 2)()
        size = len(request)
        if size <= self._inbox_size:
            ptr = self._inbox
        else:
            raw[0].i32 = size
            _call(ctx, _export(ctx, inst.instance, _ALLOC).of.func, raw)
            ptr = raw[0].i32 & 0xFFFFFFFF
            if ptr == 0 or ptr + size > ffi.wasmtime_memory_data_size(ctx, memory):
                raise GuestTrap("guest could not allocate the request (out of memory)")
        base = ctypes.addressof(ffi.wasmtime_memory_data(ctx, memory).contents)
        ctypes.memmove(base + ptr, request, size)

        raw[0].i32 = ptr
        raw[1].i32 = size
        _call(ctx, inst.run, raw)
        packed = raw[0].i64 & 0xFFFFFFFFFFFFFFFF
        out_ptr, out_len = packed >> 32, packed & 0xFFFFFFFF
        mem_size = ffi.wasmtime_memory_data_size(ctx, memory)
        if out_ptr == 0 or out_ptr + out_len > mem_size:
            raise GuestTrap("guest returned an invalid outcome (out of memory while reporting?)")
        base = ctypes.addressof(ffi.wasmtime_memory_data(ctx, memory).contents)
        return RawOutcome(ctypes.string_at(base + out_ptr, out_len), mem_size)


def _export(ctx: Any, instance: Any, name: Any) -> Any:
    item = ffi.wasmtime_extern_t()
    if not ffi.wasmtime_instance_export_get(
        ctx, ctypes.byref(instance), name, len(name), ctypes.byref(item)
    ):
        raise GuestTrap(f"guest does not export {name.raw.decode()}")
    return item


def _export_name(name: str) -> Any:
    return ctypes.create_string_buffer(name.encode(), len(name))


_MEMORY, _ALLOC, _RUN = (_export_name(n) for n in ("memory", "kobako_alloc", "kobako_run"))
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()


def _call(ctx: Any, func: Any, raw: Any) -> None:
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call_unchecked(
        ctx, ctypes.byref(func), raw, len(raw), ctypes.byref(trap)
    )
    _raise_on_failure(error, trap)


def _raise_on_failure(error: Any, trap: Any) -> None:
    if trap:
        t = wasmtime.Trap._from_ptr(trap)
        _raise_escaped()
        raise GuestTrap(t.message, t.trap_code)
    if error:
        message = str(wasmtime.WasmtimeError._from_ptr(error))
        _raise_escaped()
        raise GuestTrap(message)


def _raise_escaped() -> None:
    escaped: BaseException | None = getattr(_escaped, "exc", None)
    if escaped is not None:
        _escaped.exc = None
        raise escaped  # the run's store is deleted as it leaves GuestRunner.run


def _no_dispatch(_call: bytes) -> bytes:
    raise RuntimeError("this run makes no Service calls")


_runners: dict[bool, GuestRunner] = {}
_runner_lock = threading.Lock()


def get_runner(metered: bool = False) -> GuestRunner:
    """The process-wide GuestRunner (one more, fuel-metered, if asked), created on first use."""
    runner = _runners.get(metered)
    if runner is None:
        with _runner_lock:
            runner = _runners.get(metered)
            if runner is None:
                runner = _runners[metered] = GuestRunner(metered=metered)
    return runner
