def charm_price(p)
  (p.ceil - 0.01).round(2)
end

def round_to_nickel(p)
  ((p * 20).round / 20.0).round(2)
end

def split_bill(total, people)
  cents = (total * 100).round
  base, extra = cents.divmod(people)
  Array.new(people) { |i| (base + (i < extra ? 1 : 0)) / 100.0 }
end

[4.20, 10.0, 19.5, 0.3].each { |p| puts "#{p} -> #{charm_price(p)} / nickel #{round_to_nickel(p + 0.03)}" }
shares = split_bill(100.0, 3)
puts shares.inspect, shares.sum.round(2)
split_bill(57.43, 4)
