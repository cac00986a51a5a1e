def sieve(n)
  is_prime = Array.new(n + 1, true)
  is_prime[0] = is_prime[1] = false
  (2..Math.sqrt(n)).each do |i|
    next unless is_prime[i]
    (i * i).step(n, i) { |j| is_prime[j] = false }
  end
  is_prime.each_index.select { |i| is_prime[i] }
end

primes = sieve(100)
puts primes.inspect
puts primes.size, primes.sum
twins = primes.each_cons(2).select { |a, b| b - a == 2 }
puts twins.length
primes.last(3)
