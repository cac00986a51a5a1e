User = Struct.new(:name, :email, :role, keyword_init: true)
u = User.new(name: "Kai", email: "kai@example.com", role: :admin)
puts u.name, u.role.inspect
puts u.inspect
puts u.to_h.inspect
Pair = Struct.new(:left, :right)
p1 = Pair.new(1)
puts p1.right.inspect
puts Pair.new(1, 2).eql?(Pair.new(1, 2))
u.to_h.keys
