class QuotaExceeded < StandardError
  def message
    "quota exceeded: #{super}"
  end
end

usage = [40, 30, 50]
limit = 100
total = 0
usage.each do |u|
  total += u
  puts "used #{total}/#{limit}"
  raise QuotaExceeded, "#{total} > #{limit}" if total > limit
end
puts "not reached"
