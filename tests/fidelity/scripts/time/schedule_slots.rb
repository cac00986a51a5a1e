open_at = Time.utc(2024, 4, 1, 9, 0)
close_at = Time.utc(2024, 4, 1, 12, 0)
booked = ["09:30", "10:30", "11:00"]
slot = 30 * 60
free = []
t = open_at
while t < close_at
  label = t.strftime("%H:%M")
  free << label unless booked.include?(label)
  t += slot
end
puts "free: #{free.join(', ')}"
free.size
