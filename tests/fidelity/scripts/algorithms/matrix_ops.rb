def mat_mul(a, b)
  a.map { |row| b.transpose.map { |col| row.zip(col).sum { |x, y| x * y } } }
end

def identity(n)
  Array.new(n) { |i| Array.new(n) { |j| i == j ? 1 : 0 } }
end

def mat_pow(m, k)
  result = identity(m.size)
  base = m
  while k > 0
    result = mat_mul(result, base) if k.odd?
    base = mat_mul(base, base)
    k >>= 1
  end
  result
end

a = [[1, 2], [3, 4]]
puts mat_mul(a, a).inspect
puts a.transpose.inspect
puts mat_pow([[1, 1], [1, 0]], 50)[0][1]
puts a.flatten.sum, a.map(&:sum).inspect
mat_pow(a, 3)
