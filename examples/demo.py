"""The main job (`make run`): a Ruby script through the sandbox, value and output printed."""

from __future__ import annotations

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


if __name__ == "__main__":
    main()
