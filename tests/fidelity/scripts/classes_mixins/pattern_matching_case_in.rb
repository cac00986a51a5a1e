# Known gap: mruby 3.3's parser has no case/in pattern matching (see known_differences.txt).
def describe(event)
  case event
  in { type: "click", x: Integer => x, y: Integer => y } then "click at #{x},#{y}"
  in { type: "key", key: String => k } if k.length == 1 then "key #{k}"
  in [first, *rest] then "list starting #{first} (+#{rest.size})"
  in nil then "nothing"
  else "unknown"
  end
end

events = [{ type: "click", x: 3, y: 4 }, { type: "key", key: "q" }, [1, 2, 3], nil, 42]
events.each { |e| puts describe(e) }
events.size
