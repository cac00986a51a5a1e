sales = [
  ["north", "ann", 12_000], ["north", "bob", 8_500], ["south", "cat", 15_250],
  ["south", "dan", 4_000], ["west", "eve", 22_100], ["north", "ann", 3_000],
]
def commission(amount)
  case amount
  when 0...5_000 then amount * 0.02
  when 5_000...15_000 then amount * 0.05
  else amount * 0.08
  end
end
by_rep = sales.each_with_object(Hash.new(0)) { |(_, rep, amt), h| h[rep] += amt }
by_rep.sort_by { |_, amt| -amt }.each do |rep, amt|
  puts "#{rep.ljust(4)} #{amt.to_s.rjust(6)} commission #{format('%8.2f', commission(amt))}"
end
region_totals = sales.group_by(&:first).transform_values { |rows| rows.sum(&:last) }
puts region_totals.inspect
region_totals.max_by(&:last)
