def hanoi(n, from, to, via, moves)
  return moves if n.zero?
  hanoi(n - 1, from, via, to, moves)
  moves << "#{from}->#{to}"
  hanoi(n - 1, via, to, from, moves)
end

moves = hanoi(3, "A", "C", "B", [])
puts moves.join(" ")
puts hanoi(10, :a, :c, :b, []).size
(1..6).map { |n| hanoi(n, 1, 3, 2, []).size }
