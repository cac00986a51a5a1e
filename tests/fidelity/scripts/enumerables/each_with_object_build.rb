transactions = [
  ["alice", :deposit, 100], ["bob", :deposit, 50], ["alice", :withdraw, 30],
  ["carol", :deposit, 70], ["bob", :withdraw, 80], ["alice", :deposit, 5],
]
balances = transactions.each_with_object(Hash.new(0)) do |(who, kind, amt), acc|
  acc[who] += kind == :deposit ? amt : -amt
end
balances.each { |who, bal| puts "#{who.ljust(6)} #{bal.to_s.rjust(5)}#{' OVERDRAWN' if bal.negative?}" }
counts = transactions.each_with_object(Hash.new { |h, k| h[k] = Hash.new(0) }) { |(w, k, _), acc| acc[w][k] += 1 }
puts counts["alice"].inspect
balances.select { |_, b| b > 0 }.keys
