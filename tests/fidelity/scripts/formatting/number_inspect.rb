values = [1, -1, 1.0, 1.5e300, 2e-9, 10**25, 0.1, 100.0 / 7, 1e100, -0.5, 12.0e3]
puts values.inspect
values.each { |v| print v.inspect, " " }
puts
puts [1.0, 2.50, 3.125].map(&:to_s).join(",")
puts 1e23, 9007199254740993.0, 4.35, 0.1 + 0.7
values.map(&:class).uniq
