entries = [
  ["2024-05-06", "09:00", "12:30", "proj-a"],
  ["2024-05-06", "13:15", "17:45", "proj-b"],
  ["2024-05-07", "08:45", "12:00", "proj-a"],
  ["2024-05-07", "12:45", "16:10", "proj-a"],
]
def minutes(hhmm)
  h, m = hhmm.split(":").map(&:to_i)
  h * 60 + m
end
per_project = Hash.new(0)
per_day = Hash.new(0)
entries.each do |day, from, to, proj|
  mins = minutes(to) - minutes(from)
  per_project[proj] += mins
  per_day[day] += mins
end
per_day.each { |d, m| puts "#{d}: #{m / 60}h #{(m % 60).to_s.rjust(2, '0')}m" }
per_project.each { |p, m| puts "#{p}: #{(m / 60.0).round(2)} hours, billed #{format('%.2f', (m / 60.0) * 85)}" }
per_project.values.sum
