"""The main job (`make run`): a Ruby script through the sandbox, value and output printed."""

from __future__ import annotations

import anyio

import kobako_async

SCRIPT = """
Order = Struct.new(:item, :qty, :price)
orders = [Order.new("tea", 3, 4.5), Order.new("cake", 2, 3.25), Order.new("tea", 1, 4.5)]

totals = Hash.new(0)
orders.each { |o| totals[o.item] += o.qty * o.price }
totals.each { |item, total| puts format("%-5s %6.2f", item, total) }
warn "#{orders.size} orders"

{ items: totals.keys.map(&:to_sym), grand_total: totals.values.sum, big: 2**80 }
"""


def main() -> None:
    sandbox = kobako_async.Sandbox()
    execution = sandbox.run(SCRIPT)
    print("stdout:", execution.stdout, sep="\n", end="")
    print("stderr:", execution.stderr, sep="\n", end="")
    print("value: ", execution.value)
    print(
        f"usage:  {execution.usage.wall_time_s * 1e6:.0f} us, "
        f"{execution.usage.memory_peak_bytes >> 10} KiB guest memory"
    )
    try:
        sandbox.run('File.read("/etc/passwd")')
    except kobako_async.SandboxError as exc:
        print("escape attempt:", exc)


async def lookup(user_id: str) -> dict[str, object]:
    await anyio.sleep(0.01)  # stands for a database or HTTP call in the app's event loop
    return {"id": user_id, "plan": "pro", "seats": 3}


async def pool_demo() -> None:
    async with kobako_async.Pool(workers=2, timeout=2.0) as pool:
        pool.bind("Users::Find", lookup)
        ex = await pool.run(
            'u = Users::Find.call("u42"); "#{u["id"]}: #{u["plan"]} x#{u["seats"]}"'
        )
        print("pool:   ", ex.value)
        scripts = [f"{n} ** 3" for n in range(5)] + ["raise 'bad input'"]
        async for result in pool.map(scripts):
            print(
                f"map[{result.index}]:",
                result.execution.value if result.execution else result.error,
            )


if __name__ == "__main__":
    main()
    anyio.run(pool_demo)
