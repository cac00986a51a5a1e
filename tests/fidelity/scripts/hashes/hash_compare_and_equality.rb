a = { x: 1, y: [1, 2], z: { w: nil } }
b = { z: { w: nil }, y: [1, 2], x: 1 }
puts a == b
puts a.eql?(b)
puts a.size, a.empty?, {}.empty?
puts a.any? { |k, v| v.nil? }
puts a.all? { |k, _| k.is_a?(Symbol) }
puts a.include?(:y), a.member?(:q), a.value?([1, 2])
[a.length, a.to_a.length, a.values.last]
