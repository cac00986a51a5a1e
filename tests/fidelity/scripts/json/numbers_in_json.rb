require "json"
parsed = JSON.parse('[1, 1.0, -0, 1e3, 2.5E-3, 12345678901234567890, 0.1]')
parsed.each { |n| puts "#{n.inspect} #{n.class}" }
puts JSON.generate([1.0, 100.0, 1e100, 1.5e-7, 123456789.125])
puts [10**20, 2**64].to_json
parsed.sum.round(4)
