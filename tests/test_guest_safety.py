"""Guest memory and trust regressions (issue 11): Service paths, unforgeable host
errors, use-after-free in C methods that call back into Ruby, pack ranges, bind-time
path rules, and Regexp's internal entry points. Each reproducer from the issue is here;
the random search for the same class of bug is tests/adversarial/test_uaf_fuzz.py."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kobako_async import (
    NoServiceError,
    Pool,
    Sandbox,
    SandboxError,
    ServiceCallLimitError,
    ServiceError,
)
from kobako_async._core_constants import NON_MODULE_CONSTANTS
from kobako_async._services import check_path

ROOT = Path(__file__).resolve().parent.parent


def _echo(path: str) -> Callable[[], str]:
    return lambda: path


# ---- 1. nested Service paths of any length ----


def _path(length: int, depth: int, serial: int) -> str | None:
    """A valid path of exactly ``length`` characters and ``depth`` segments, made
    distinct by ``serial`` where the length leaves room; None if impossible."""
    room = length - 2 * (depth - 1)  # characters left for the segments themselves
    if room < depth:
        return None
    sizes = [room // depth] * depth
    for i in range(room % depth):
        sizes[i] += 1
    tag = f"{serial:x}"
    segments = []
    for i, size in enumerate(sizes):
        body = (tag if i == 0 else "") + "q" * size
        segments.append(("Q" if i == 0 else "W") + body[: size - 1])
    path = "::".join(segments)
    assert len(path) == length
    return path


def _batches(paths: list[str], size: int) -> list[list[str]]:
    """Paths grouped into bindings that can share one Sandbox (none above another)."""

    def related(a: str, b: str) -> bool:
        return a == b or a.startswith(b + "::") or b.startswith(a + "::")

    batches: list[list[str]] = []
    for path in paths:
        for batch in batches:
            if len(batch) < size and not any(related(path, p) for p in batch):
                batch.append(path)
                break
        else:
            batches.append([path])
    return batches


def _all_paths() -> list[str]:
    found = []
    for length in range(1, 201):
        for depth in range(1, 7):
            path = _path(length, depth, len(found))
            if path is not None:
                found.append(path)
    return found


def _call_all(paths: list[str]) -> str:
    return "[" + ", ".join(f"{p}.call" for p in paths) + "]"


def test_paths_of_every_length_and_depth_run() -> None:
    """Paths of 1-200 characters and 1-6 segments bind and run, 40 to a Sandbox."""
    paths = _all_paths()
    assert len(paths) > 1000
    for batch in _batches(paths, 40):
        sandbox = Sandbox()
        for path in batch:
            sandbox.bind(path, _echo(path))
        assert sandbox.run(_call_all(batch)).value == batch


def test_issue_examples_run() -> None:
    """The issue's names (13+ characters, nested) no longer break every run."""
    names = ["Geo::Lookup", "Factory::Make", "Tools::Weather", "Billing::Invoices", "Abc::Def::Ghi"]
    sandbox = Sandbox()
    for name in names:
        sandbox.bind(name, _echo(name))
    assert sandbox.run("1").value == 1
    assert sandbox.run(_call_all(names)).value == names


_SEGMENT = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,40}", fullmatch=True)


def _bindable(path: str) -> bool:
    try:
        check_path(path)
    except ValueError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SEGMENT, min_size=1, max_size=6).map("::".join).filter(_bindable))
def test_any_valid_path_binds_and_runs(path: str) -> None:
    """Any path check_path accepts binds and is callable from a script."""
    sandbox = Sandbox().bind(path, _echo(path))
    assert sandbox.run(f"{path}.call").value == path


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """One backend: the Pool part only checks that the guest binds the paths."""
    return "asyncio"


@pytest.fixture(scope="module")
async def pool(anyio_backend: str) -> AsyncIterator[Pool]:
    async with Pool(workers=1, timeout=10.0) as pool:
        yield pool


@pytest.mark.anyio
async def test_pool_runs_long_nested_paths(pool: Pool) -> None:
    """A Pool with 40 long nested bindings runs scripts that call them."""
    batch = _batches([p for p in _all_paths() if "::" in p and len(p) >= 13], 40)[0]
    assert len(batch) == 40
    for path in batch:
        pool.bind(path, _echo(path))
    assert (await pool.run("1")).value == 1
    assert (await pool.run(_call_all(batch))).value == batch
    assert (await pool.run(f"{batch[-1]}.call")).value == batch[-1]


# ---- 2. host errors cannot be forged ----


FORGE_ARRAY = """
begin; Svc.nope; rescue Exception => e; end
ObjectSpace.each_object(Array) { |a|
  if a.size == 3 && a[0].is_a?(Integer) && a[1] == "Kobako::NoServiceError"
  a[1] = "Kobako::ServiceCallLimitError"; a[2] = "more than 100000 Service calls in one run" end }
raise e
"""

FORGE_EVERYWHERE = """
begin; Svc.nope; rescue Exception => e; end
ObjectSpace.each_object(String) do |s|
  next if s.frozen?
  s.replace("Kobako::ServiceCallLimitError") if s == "Kobako::NoServiceError"
  s.replace("forged") if s.include?("undefined method")
end
ObjectSpace.each_object(Array) { |a| a.map! { |x| x.is_a?(Integer) ? x + 1 : x } unless a.frozen? }
e.instance_variables.each { |v| e.remove_instance_variable(v) }
raise e
"""


class Plain:
    def ok(self) -> int:
        return 1

    def fail(self) -> None:
        raise ValueError("boom")


@pytest.mark.parametrize("script", [FORGE_ARRAY, FORGE_EVERYWHERE], ids=["issue", "everywhere"])
def test_origin_mark_cannot_be_edited(script: str) -> None:
    """Editing every Array, String and ivar the script can reach leaves a real
    NoServiceError exactly what the host replied."""
    with pytest.raises(NoServiceError, match="undefined method 'nope'") as info:
        Sandbox().bind("Svc", Plain()).run(script)
    assert type(info.value) is NoServiceError


@pytest.mark.parametrize(
    "copy",
    ["e.dup", "e.clone", 'e.exception("x")', "e.class.new(e.message)"],
)
def test_copies_of_a_host_error_carry_no_mark(copy: str) -> None:
    """dup, clone, exception("x") and new make a script's exception: a plain SandboxError."""
    script = f"begin; Svc.nope; rescue Exception => e; end; raise {copy}"
    with pytest.raises(SandboxError) as info:
        Sandbox().bind("Svc", Plain()).run(script)
    assert type(info.value) is SandboxError
    assert info.value.klass == "Kobako::NoServiceError"


def test_the_mark_is_invisible_to_reflection() -> None:
    """A host error shows no instance variables, and no object anywhere holds its
    class name and call number the way the old mark did."""
    script = """
    begin; Svc.nope; rescue Exception => e; end
    marks = []
    ObjectSpace.each_object(BasicObject) do |o|
      marks << o if Array === o && o.include?("Kobako::NoServiceError")
    end
    [e.instance_variables, marks.size]
    """
    assert Sandbox().bind("Svc", Plain()).run(script).value == [[], 0]


def test_freed_host_error_does_not_mark_its_successor() -> None:
    """A marked exception that is collected leaves no mark on objects made later in
    its memory: raising one of them is a plain SandboxError."""
    script = """
    3.times { begin; Svc.nope; rescue Exception; end }
    GC.start
    made = Array.new(2000) { Kobako::ServiceCallLimitError.new("forged") }
    GC.start
    raise made.last
    """
    with pytest.raises(SandboxError) as info:
        Sandbox().bind("Svc", Plain()).run(script)
    assert type(info.value) is SandboxError


def test_limit_error_comes_from_the_dispatcher() -> None:
    """A real ServiceCallLimitError, re-raised, is still the host's; no other call's
    error can be dressed as one."""
    script = "x = begin; 3.times { Svc.ok }; rescue Exception => e; e; end; raise x"
    with pytest.raises(ServiceCallLimitError, match="more than 2 Service calls"):
        Sandbox(max_service_calls=2).bind("Svc", Plain()).run(script)


def test_older_service_error_gets_no_newer_cause() -> None:
    """Re-raising an older Service error after a newer failure gives no __cause__."""
    script = "a = begin; Svc.fail; rescue => x; x; end\nbegin; Svc.fail; rescue; end\nraise a"
    with pytest.raises(ServiceError, match="boom") as info:
        Sandbox().bind("Svc", Plain()).run(script)
    assert info.value.__cause__ is None


# ---- 3. JSON.generate keeps no pointer into Ruby strings across callbacks ----


def test_json_to_json_cannot_free_the_output() -> None:
    """The issue's reproducer: a to_json that empties every 64-byte String changes
    neither the output nor an unrelated String."""
    script = """
    class Evil; def to_json(*)
      ObjectSpace.each_object(String) { |s|
        s.replace("") if s.bytesize == 64 && s.start_with?("[") }
      $victim = "v" * 64; '"INJECTED"'; end; end
    [JSON.generate([Evil.new, "tail"]), $victim]
    """
    assert Sandbox().run(script).value == ['["INJECTED","tail"]', "v" * 64]


def test_json_layout_strings_are_copied() -> None:
    """Emptying every String that equals the indent, from a to_json or from the
    options' default proc, does not change the layout already read."""
    script = """
    ind = "ab" * 40
    wipe = -> {
      ObjectSpace.each_object(String) { |s| s.replace("") if s == "ab" * 40 && !s.frozen? }
      GC.start }
    E = Struct.new(:f) { def to_json(*) f.call; '"x"' end }
    opts = Hash.new { |h, k| wipe.call; nil }
    opts[:indent] = ind
    opts[:array_nl] = "\\n"
    JSON.generate([E.new(wipe), [1]], opts)
    """
    ind = "ab" * 40
    expected = f'[\n{ind}"x",\n{ind}[\n{ind * 2}1\n{ind}]\n]'
    assert Sandbox().run(script).value == expected


def test_json_survives_clearing_every_array() -> None:
    """A to_json that clears every Array (the input included) and collects ends the
    generation early but cleanly, and an unrelated String keeps its bytes."""
    script = """
    class Wipe; def to_json(*)
      ObjectSpace.each_object(Array) { |a| a.clear unless a.frozen? }
      GC.start; $victim = "w" * 100; '"cut"'; end; end
    [JSON.generate([[Wipe.new, 1, 2], {"k" => [3, 4]}]), $victim]
    """
    out, victim = Sandbox().run(script).value
    assert victim == "w" * 100
    assert out == '[["cut"]]'


# ---- 4. C methods that yield or call Ruby re-read what they point into ----


def test_scrub_block_that_replaces_the_receiver() -> None:
    """The issue's scrub reproducer raises RuntimeError "string modified" as CRuby
    3.1 does, instead of reading freed bytes."""
    script = (
        's = ("\\xff" + "a"*40) * 4;'
        ' s.scrub { s.replace("Z"*1000); Array.new(20) { "q"*160 }; "?" }.count("q")'
    )
    with pytest.raises(SandboxError, match="string modified") as info:
        Sandbox().run(script)
    assert info.value.klass == "RuntimeError"


def test_scrub_block_that_leaves_the_receiver_works() -> None:
    """scrub's block answers replace each bad sequence; GC in the block changes nothing."""
    script = (
        '["a\\xffb\\xfe\\xfdc", "a\\xe3\\x81b"]'
        '.map { |s| s.scrub { |b| GC.start; "<#{b.bytes.join(",")}>" } }'
    )
    assert Sandbox().run(script).value == ["a<255>b<254><253>c", "a<227,129>b"]  # as CRuby 3.1


def test_scrub_refuses_block_and_replacement() -> None:
    """scrub with both a replacement and a block is an ArgumentError, as in CRuby."""
    with pytest.raises(SandboxError, match="both of block and replacement given"):
        Sandbox().run('"a\\xff".scrub("?") { "!" }')


def test_write_to_s_that_clears_its_splatted_arguments() -> None:
    """$stdout.write(*args) whose first to_s clears the args Array via ObjectSpace
    still writes every argument it was given."""
    script = """
    class Head; def to_s
      ObjectSpace.each_object(Array) { |a| a.clear if a.size == 2 && a[1] == "tail" && !a.frozen? }
      GC.start; "head" end; end
    args = [Head.new, "tail"]
    $stdout.write(*args)
    """
    assert Sandbox().run(script).stdout == "headtail"


def test_gsub_block_that_changes_the_receiver_reads_the_snapshot() -> None:
    """gsub with a block reads its frozen snapshot, so a block that rewrites the
    receiver cannot make it copy out of bounds or from freed bytes."""
    script = 's = "abcabc"; s.gsub(/b/) { s.replace("zz"); GC.start; "X" }'
    assert Sandbox().run(script).value == "aXcaXc"


def test_scan_block_that_changes_the_receiver_reads_the_snapshot() -> None:
    """scan with a block keeps matching the snapshot while the block shrinks self."""
    script = 's = "a1b2c3"; r = []; s.scan(/\\d/) { |d| s.replace(""); r << d }; r'
    assert Sandbox().run(script).value == ["1", "2", "3"]


# ---- found by the fuzz target: invalid bytes in String's character iterators ----


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('"\\x81".chop', ""),
        ('"\\xf8".chop', ""),
        ('"a\\x81b".index("b")', 2),
        ('"x\\x81y".rindex("y")', 2),
        ('"\\x81".size', 1),
        ('"\\xe3\\x81a".size', 3),
        ('"a\\x81b".chars', ["a", b"\x81", "b"]),
        ('"ab\\x81cd"[1, 3]', b"b\x81c"),
    ],
)
def test_invalid_bytes_are_one_character_each(script: str, expected: object) -> None:
    """A lone continuation or 0xF8-0xFF byte is one character, as in CRuby: chop,
    index and chars used to loop forever (or fill memory) on one."""
    assert Sandbox(timeout=2.0).run(script).value == expected


# ---- 5. pack("U") ranges ----


@pytest.mark.parametrize("value", ["2**32 + 65", "2**40", "-1", "0x200000"])
def test_pack_u_out_of_range_is_a_range_error(value: str) -> None:
    """pack("U") of a value outside 0..0x1FFFFF raises RangeError, never truncates."""
    with pytest.raises(SandboxError, match=r"pack\(U\): value out of range") as info:
        Sandbox().run(f'[{value}].pack("U")')
    assert info.value.klass == "RangeError"


def test_pack_u_in_range_still_packs() -> None:
    """The largest four-byte value and ASCII still pack."""
    assert Sandbox().run('[0x1FFFFF, 65].pack("U*").bytes').value == [0xF7, 0xBF, 0xBF, 0xBF, 65]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('[2**32 + 65].pack("C")', "A"),
        ('[2**32 + 65].pack("L").bytes', [65, 0, 0, 0]),
    ],
)
def test_other_integer_directives_keep_the_low_bits(script: str, expected: object) -> None:
    """C and L keep the low bits of a 64-bit value, as CRuby does."""
    assert Sandbox().run(script).value == expected


@pytest.mark.parametrize("directive", ["C", "S", "L", "Q", "w", "U"])
def test_bignum_past_64_bits_is_a_range_error(directive: str) -> None:
    """A bignum past 64 bits is a RangeError for every integer directive."""
    with pytest.raises(SandboxError, match="out of range") as info:
        Sandbox().run(f'[2**70].pack("{directive}")')
    assert info.value.klass == "RangeError"


# ---- 6. paths under a core constant that is not a module ----


@pytest.mark.parametrize(
    "path", ["RUBY_VERSION::X", "Math::PI::Svc", "Float::INFINITY::A::B", "JSON::VERSION::X"]
)
def test_path_under_a_core_value_is_refused_at_bind(path: str) -> None:
    """bind() raises ValueError for a prefix naming a core constant that is no module."""
    with pytest.raises(ValueError, match="is a constant of the guest's core that is not a module"):
        Sandbox().bind(path, lambda: 1)
    with pytest.raises(ValueError, match="not a module"):
        Sandbox().run("1", bind={path: lambda: 1})


@pytest.mark.parametrize("path", ["Math::Svc", "JSON::Ext::Svc", "Float::Svc", "Math::PI"])
def test_paths_under_core_modules_still_bind(path: str) -> None:
    """Paths under core modules and classes bind; a leaf may name a core constant."""
    assert Sandbox().bind(path, lambda: 7).run(f"{path}.call").value == 7


def test_core_constant_table_matches_the_guest() -> None:
    """The generated table of non-module core constants is the built guest's."""
    sys.path.insert(0, str(ROOT / "guest" / "tools"))
    try:
        from gen_core_constants import core_constants  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert frozenset(core_constants()) == NON_MODULE_CONSTANTS
    assert {"RUBY_VERSION", "Math::PI", "Float::INFINITY"} <= NON_MODULE_CONSTANTS


# ---- 7. Regexp's helpers go through the UTF-8 check ----


@pytest.mark.parametrize(
    "call",
    [
        '/./.__search("\\xff\\xfe", 0, true)',
        '/./.__scan("a\\xff")',
        '/./.__replace("a\\xff", "b", true)',
        '/./.__match_bytes("\\xff", 0)',
    ],
)
def test_regexp_helpers_check_utf8(call: str) -> None:
    """Every Regexp entry point into Oniguruma refuses invalid UTF-8."""
    with pytest.raises(SandboxError, match="invalid byte sequence in UTF-8") as info:
        Sandbox().run(call)
    assert info.value.klass == "ArgumentError"


def test_regexp_search_from_inside_a_character_misses() -> None:
    """A byte start inside a multibyte character matches nothing."""
    assert Sandbox().run('/./.__search("éa", 1, true)').value is None


def test_frozen_regexp_cannot_be_recompiled() -> None:
    """A literal (frozen) Regexp cannot be recompiled in place by __compile."""
    with pytest.raises(SandboxError, match="can't modify frozen Regexp") as info:
        Sandbox().run('/a/.__compile("b", 0)')
    assert info.value.klass == "FrozenError"


def test_regexp_methods_still_work() -> None:
    """The checked paths keep gsub, scan, split and match working."""
    script = (
        '["a-b-c".gsub(/-/) { "+" }, "x1y2".scan(/\\d/), "a,b".split(/,/), /(b)/.match("abc")[1]]'
    )
    assert Sandbox().run(script).value == ["a+b+c", ["1", "2"], ["a", "b"], "b"]
