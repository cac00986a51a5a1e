[0.5, 1.5, 2.5, -2.5, 2.675, 1.005, 0.125, 1234.5678].each do |v|
  puts "#{v}: round=#{v.round} round(2)=#{v.round(2)} floor=#{v.floor} ceil=#{v.ceil} truncate=#{v.truncate}"
end
puts 2.5.round(half: :even), 3.5.round(half: :even), 2.5.round(half: :down)
puts 1234.5678.round(-2), 1234.round(-2), 1250.round(-2)
puts 12.34.floor(1), 12.34.ceil(1)
[1.23456.round(3), 10.0.round(2), 7.round(1)]
