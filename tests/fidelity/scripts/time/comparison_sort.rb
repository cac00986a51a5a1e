events = [
  ["deploy", Time.utc(2024, 5, 3, 14, 0)],
  ["standup", Time.utc(2024, 5, 3, 9, 30)],
  ["retro", Time.utc(2024, 5, 2, 16, 0)],
]
events.sort_by { |_, t| t }.each { |name, t| puts "#{t.strftime('%m/%d %H:%M')} #{name}" }
first, second = events.map(&:last).minmax
puts first < second, first == Time.utc(2024, 5, 2, 16, 0)
cutoff = Time.utc(2024, 5, 3)
puts events.select { |_, t| t >= cutoff }.map(&:first).inspect
events.max_by(&:last).first
