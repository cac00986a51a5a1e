DAY = 86_400
def add_business_days(time, n)
  t = time
  while n > 0
    t += DAY
    n -= 1 unless t.saturday? || t.sunday?
  end
  t
end

start = Time.utc(2024, 6, 6)
[1, 2, 5, 10].each { |n| puts "#{n} business days after #{start.strftime('%a %F')}: #{add_business_days(start, n).strftime('%a %F')}" }
(0..6).map { |i| (start + i * DAY).strftime("%a") }
