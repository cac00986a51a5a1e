data = [12, 15, 11, 18, 20, 15, 13, 15]
mean = data.sum.to_f / data.size
sorted = data.sort
median = data.size.even? ? (sorted[data.size / 2 - 1] + sorted[data.size / 2]) / 2.0 : sorted[data.size / 2]
mode = data.tally.max_by { |_, c| c }.first
variance = data.sum { |x| (x - mean)**2 } / data.size
stddev = Math.sqrt(variance)
puts "mean=#{mean} median=#{median} mode=#{mode}"
puts "variance=#{variance.round(3)} stddev=#{stddev.round(3)}"
puts "range=#{data.max - data.min}"
[mean, median, mode]
