start = Time.utc(2024, 2, 28, 23, 30, 0)
later = start + 3600
puts later
puts later.day, later.month
puts (start + 86_400 * 2).strftime("%F")
diff = Time.utc(2024, 3, 10) - start
puts diff, diff.class
puts (diff / 3600).round(2)
start - 60
