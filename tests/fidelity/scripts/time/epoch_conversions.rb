stamps = [0, 86_399, 951_782_400, 1_234_567_890, 2_147_483_647]
stamps.each do |s|
  t = Time.at(s).utc
  puts "#{s.to_s.rjust(10)} #{t.strftime('%Y-%m-%d %H:%M:%S')} #{t.strftime('%a')}"
end
t = Time.utc(2000, 1, 1)
puts t.to_i, t.to_f
puts Time.at(1.5).utc.usec
Time.at(1_234_567_890).utc.to_a.first(6)
