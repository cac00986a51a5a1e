amounts = [10.005, 10.015, 10.025, 2.345, 2.355, 0.285, 1.455]
amounts.each do |a|
  puts "#{a} round2=#{a.round(2)} fmt=#{'%.2f' % a} cents=#{(a * 100).round} even=#{a.round(2, half: :even)}"
end
cents = amounts.sum { |a| (a * 100).round }
puts cents, cents / 100.0
amounts.sum.round(2)
