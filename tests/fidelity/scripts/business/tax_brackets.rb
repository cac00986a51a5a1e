BRACKETS = [[11_000, 0.10], [44_725, 0.12], [95_375, 0.22], [182_100, 0.24], [Float::INFINITY, 0.32]].freeze

def income_tax(income)
  lower = 0
  BRACKETS.sum do |upper, rate|
    taxable = [[income, upper].min - lower, 0].max
    lower = upper
    taxable * rate
  end.round(2)
end

[0, 10_000, 50_000, 100_000, 250_000].each do |inc|
  tax = income_tax(inc)
  eff = inc.zero? ? 0 : (tax / inc * 100).round(2)
  puts "#{inc.to_s.rjust(7)}: tax #{format('%10.2f', tax)} effective #{eff}%"
end
income_tax(75_000)
