"""Services on a Pool: method resolution, reply encoding and cancellation are
contained exactly as in the Sandbox, on asyncio, uvloop and trio.

One single-worker Pool per backend serves the module; every test leaves it usable
and checks so. The Dispatcher's contract with the Pool (what ``dispatch_async``
returns or raises) is tested on a real Dispatcher with the guest's call encoding.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import msgpack
import pytest
import sniffio

from kobako_async import NoServiceError, Pool, ServiceError
from kobako_async._codec import unpack
from kobako_async._limits import Limits
from kobako_async._services import GUEST_SERVICE_ERROR, REPLY_ERROR, Dispatcher

pytestmark = pytest.mark.anyio


class Record:
    """A row object whose attribute fallback raises KeyError for unknown names."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data

    def __getattr__(self, key: str) -> Any:
        return self._d[key]

    def get(self, key: str) -> Any:
        return self._d.get(key)


class Repo:
    def call(self, name: str) -> Record:
        return Record({"name": name})


class Config:
    getter_ran = 0

    @classmethod  # type: ignore[misc]
    @property
    def admin_token(cls) -> str:
        Config.getter_ran += 1
        return "token"


async def own_cancellation() -> None:
    """A Service whose inner operation was cancelled by its own library: the
    backend's cancel exception escapes although nobody cancelled the caller."""
    caught: BaseException | None = None
    with anyio.CancelScope() as scope:
        scope.cancel()
        try:
            await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class() as exc:
            caught = exc
    assert caught is not None
    raise caught


async def cancelled_future() -> None:
    """asyncio only: awaiting a future its library cancelled."""
    future = asyncio.get_running_loop().create_future()
    future.cancel()
    await future


class Gate:
    """A Service that parks until the caller is cancelled, recording what happened."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.left_cancelled = False
        self.marks = 0

    async def wait(self) -> None:
        self.entered.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.left_cancelled = True

    def mark(self) -> None:
        self.marks += 1


@pytest.fixture(scope="module")
async def pool(anyio_backend: object) -> AsyncIterator[Pool]:
    async with Pool(workers=1) as shared:
        shared.bind("Repo", Repo())
        shared.bind("Config", Config)
        shared.bind("Decode", json.loads)
        shared.bind("Own", own_cancellation)
        shared.bind("Gate")
        yield shared


async def assert_usable(pool: Pool) -> None:
    assert (await pool.run("1 + 1")).value == 2


async def test_getattr_fallback_does_not_break_real_methods(pool: Pool) -> None:
    """The issue's reproducer: a Handle whose __getattr__ raises KeyError serves its
    real methods, and an unknown name is a NoServiceError, never a raw KeyError."""
    assert (await pool.run('Repo.call("alice").get("name")')).value == "alice"
    failed = pool.stats()["failed"]
    with pytest.raises(
        NoServiceError, match=r"undefined method 'zzz' for a Kobako::Handle \(Record\)"
    ):
        await pool.run('Repo.call("alice").zzz')
    assert pool.stats()["failed"] == failed + 1
    await assert_usable(pool)


async def test_classmethod_property_getter_never_runs(pool: Pool) -> None:
    """A classmethod wrapping a property is refused and its getter never runs."""
    with pytest.raises(NoServiceError, match="undefined method 'admin_token' for Config"):
        await pool.run("Config.admin_token")
    assert Config.getter_ran == 0


async def test_unencodable_reply_is_rescuable(pool: Pool) -> None:
    """json.loads of a lone surrogate: the script rescues the encoding failure."""
    script = "begin; Decode.call('\"\\\\ud800\"'); rescue => e; [e.class.name, e.message]; end"
    klass, message = (await pool.run(script)).value
    assert klass == "Kobako::ServiceError"
    assert message.startswith("UnicodeEncodeError: service returned a value that cannot be sent")


async def test_unencodable_reply_unrescued_is_a_counted_service_error(pool: Pool) -> None:
    """Unrescued, it is a ServiceError (counted as failed) whose __cause__ is the
    UnicodeEncodeError, not a raw exception from pool.run."""
    failed = pool.stats()["failed"]
    with pytest.raises(ServiceError, match="^UnicodeEncodeError: ") as info:
        await pool.run("Decode.call('\"\\\\ud800\"')")
    assert type(info.value.__cause__) is UnicodeEncodeError
    assert pool.stats()["failed"] == failed + 1
    await assert_usable(pool)


def cancel_class_name() -> str:
    return "Cancelled" if sniffio.current_async_library() == "trio" else "CancelledError"


async def test_service_own_cancellation_is_a_service_error(pool: Pool) -> None:
    """A cancel exception escaping a Service whose caller was not cancelled is a
    Service error: rescuable in the script, a ServiceError when unrescued."""
    name = cancel_class_name()
    script = "begin; Own.call; rescue Kobako::ServiceError => e; e.message; end"
    assert (await pool.run(script)).value.startswith(f"{name}: ")
    with pytest.raises(ServiceError, match=f"^{name}: ") as info:
        await pool.run("Own.call")
    assert info.value.klass == name
    await assert_usable(pool)


async def test_cancelled_future_in_a_service_is_a_service_error(pool: Pool) -> None:
    """asyncio (and uvloop): awaiting a future the Service's library cancelled is a
    Service error, not the run's cancellation."""
    if sniffio.current_async_library() != "asyncio":
        pytest.skip("asyncio futures")
    script = "begin; Gate.call; rescue Kobako::ServiceError => e; e.message; end"
    assert (await pool.run(script, bind={"Gate": cancelled_future})).value == "CancelledError: "
    await assert_usable(pool)


async def test_caller_cancel_scope_still_cancels_the_run(pool: Pool) -> None:
    """Cancelling the caller's scope while its Service awaits cancels the run: the
    script's rescue never runs, the Service sees the cancellation, the Pool serves on."""
    gate = Gate()
    script = "begin; Gate.wait; rescue Exception; Gate.mark; end; Gate.mark"
    async with anyio.create_task_group() as tg:

        async def caller() -> None:
            await pool.run(script, bind={"Gate": gate})

        tg.start_soon(caller)
        await gate.entered.wait()
        tg.cancel_scope.cancel()
    assert gate.left_cancelled
    assert gate.marks == 0
    await assert_usable(pool)


async def test_caller_task_cancel_still_cancels_the_run(pool: Pool) -> None:
    """asyncio (and uvloop): task.cancel() on the caller while its Service awaits
    cancels the run, though no anyio scope was cancelled."""
    if sniffio.current_async_library() != "asyncio":
        pytest.skip("asyncio tasks")
    gate = Gate()
    task = asyncio.ensure_future(pool.run("Gate.wait rescue Gate.mark", bind={"Gate": gate}))
    await gate.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.left_cancelled
    assert gate.marks == 0
    await assert_usable(pool)


# ---- the Dispatcher's contract with the Pool ----


def guest_call(target: str, name: str = "call") -> bytes:
    """A Service call encoded as the guest sends it."""
    return msgpack.packb([target, name, [], {}], use_bin_type=True)  # type: ignore[no-any-return]


async def test_dispatch_async_reraises_a_service_keyboard_interrupt() -> None:
    """dispatch_async raises a Service's KeyboardInterrupt unchanged and records it in
    ``escaped``, so the Pool can stop the guest and re-raise it."""
    exc = KeyboardInterrupt()

    async def interrupt() -> None:
        await anyio.lowlevel.checkpoint()
        raise exc

    dispatcher = Dispatcher({"Svc": interrupt}, Limits())
    with pytest.raises(KeyboardInterrupt) as info:
        await dispatcher.dispatch_async(guest_call("Svc"))
    assert info.value is exc and dispatcher.escaped is exc


async def test_dispatch_async_passes_the_callers_cancellation() -> None:
    """The caller's own cancellation leaves dispatch_async unchanged, with ``escaped``
    None; a Service's own cancellation is an error reply."""
    entered = anyio.Event()

    async def park() -> None:
        entered.set()
        await anyio.sleep_forever()

    dispatcher = Dispatcher({"Park": park, "Own": own_cancellation}, Limits())
    reply = unpack(await dispatcher.dispatch_async(guest_call("Own")))
    assert reply[0] == REPLY_ERROR and reply[1][0] == GUEST_SERVICE_ERROR
    assert reply[1][1].startswith(f"{cancel_class_name()}: ")
    with anyio.CancelScope() as scope:

        async def cancel_when_entered() -> None:
            await entered.wait()
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_when_entered)
            await dispatcher.dispatch_async(guest_call("Park"))
            pytest.fail("dispatch_async returned although its caller was cancelled")
    assert scope.cancelled_caught
    assert dispatcher.escaped is None


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(KeyboardInterrupt, id="KeyboardInterrupt"),
        pytest.param(lambda: SystemExit(2), id="SystemExit"),
    ],
)
async def test_service_keyboard_interrupt_reaches_the_caller(
    pool: Pool, make: Callable[[], BaseException]
) -> None:
    """A Service raising KeyboardInterrupt or SystemExit stops the run (the script
    does not go on) and pool.run re-raises that same exception; the Pool serves on."""
    exc = make()
    gate = Gate()

    async def fail() -> None:
        raise exc

    with pytest.raises(type(exc)) as info:
        await pool.run(
            "begin; Fail.call; rescue Exception; end; Gate.mark", bind={"Gate": gate, "Fail": fail}
        )
    assert info.value is exc
    assert gate.marks == 0
    await assert_usable(pool)


class BrokenAwaitable:
    def __await__(self) -> Any:
        raise RuntimeError("cannot await")


async def test_awaitable_whose_await_raises_is_a_service_error(pool: Pool) -> None:
    """A Service returning an awaitable whose __await__ raises fails its call with a
    rescuable Kobako::ServiceError."""
    script = "begin; Gate.call; rescue Kobako::ServiceError => e; e.message; end"
    value = (await pool.run(script, bind={"Gate": lambda: BrokenAwaitable()})).value
    assert value == "RuntimeError: cannot await"


async def test_sync_service_raising_cancelled_error_is_a_service_error(pool: Pool) -> None:
    """A sync Service raising asyncio.CancelledError is a Service error on every
    backend: no caller was cancelled (on trio it is no cancellation at all)."""

    def cancelled() -> None:
        raise asyncio.CancelledError("gave up")

    script = "begin; Gate.call; rescue Kobako::ServiceError => e; e.message; end"
    assert (await pool.run(script, bind={"Gate": cancelled})).value == "CancelledError: gave up"
    await assert_usable(pool)
