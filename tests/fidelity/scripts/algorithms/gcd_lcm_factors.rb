def prime_factors(n)
  factors = []
  d = 2
  while n > 1
    while (n % d).zero?
      factors << d
      n /= d
    end
    d += 1
    if d * d > n && n > 1
      factors << n
      break
    end
  end
  factors
end

[12, 97, 360, 1001, 2**10].each { |n| puts "#{n}: #{prime_factors(n).tally.map { |p, e| e > 1 ? "#{p}^#{e}" : p.to_s }.join(' * ')}" }
puts 48.gcd(180), 21.lcm(6)
puts [12, 18, 24].reduce(:gcd)
prime_factors(9_999_991)
