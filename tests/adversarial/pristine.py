"""A fingerprint of the guest's core classes, computed inside the guest.

It lists every Module reachable through constants from Object (nested ones too):
class, frozen flag, ancestors, instance and singleton methods with arity and source
(a method a script defines has one; the guest's own have none),
instance and class variables, nested constants; then the global variables and
Object's constants. A run that leaks anything of this into the next run (a
monkeypatch, a removed constant, a frozen class, a new global) changes it.
"""

from __future__ import annotations

import difflib

from kobako_async import Sandbox

# ``Module === m`` rather than ``m.is_a?``: a Service constant is a proxy whose
# every method call would go to the host.
FINGERPRINT_SCRIPT = r"""
try = ->(default, &b) { begin; b.call; rescue Exception; default; end }
seen = {}
lines = []
queue = Object.constants.sort.map { |c| [c.to_s, Object, c] }
until queue.empty?
  path, owner, name = queue.shift
  m = try.(nil) { owner.const_get(name) }
  next unless Module === m
  next if seen[m.__id__]
  seen[m.__id__] = true
  lines << [path, m.class, m.frozen?, m.ancestors.join(","),
            m.instance_methods(false).sort.map { |x|
              try.("#{x}?") { u = m.instance_method(x); "#{x}/#{u.arity}#{u.source_location}" }
            }.join(","),
            m.singleton_methods.sort.map { |x|
              try.("#{x}?") { u = m.method(x); "#{x}/#{u.arity}#{u.source_location}" }
            }.join(","),
            m.instance_variables.sort.join(","),
            try.('-') { m.class_variables.sort.join(",") }].join("|")
  try.([]) { m.constants }.sort.each { |c| queue << ["#{path}::#{c}", m, c] }
end
lines << global_variables.sort.join(",")
lines << [$stdout.class, $stderr.class, STDOUT.class, STDERR.class].join(",")
lines << Object.constants.sort.join(",")
lines.join("\n")
"""


def fingerprint(sandbox: Sandbox) -> str:
    """The fingerprint of a fresh run on ``sandbox`` (it must bind ``Svc``).

    Returns:
        One line per module, then the globals, the output objects' classes and
        Object's constants.
    """
    value = sandbox.run(FINGERPRINT_SCRIPT).value
    assert type(value) is str
    return value


def fingerprint_difference(actual: str, pristine: str) -> str | None:
    """None when the fingerprints match, else the differing lines (a short diff)."""
    if actual == pristine:
        return None
    diff = difflib.unified_diff(pristine.splitlines(), actual.splitlines(), lineterm="", n=0)
    return "\n".join(line[:300] for line in list(diff)[:12])
