puts 2**-1, (2**-1).class
r = Rational(3, 4) + Rational(1, 4)
puts r, r.class
puts Rational(1, 3) * 3 == 1
puts Rational("2/4"), 0.75.to_r, 3.to_r
puts (1r / 3).round(3).to_f
puts 1.5.rationalize(Rational(1, 100))
puts Rational(7, 2).floor, Rational(7, 2).to_f
Rational(5, 10)
