def age_on(birth, date)
  age = date.year - birth.year
  age -= 1 if (date.month < birth.month) || (date.month == birth.month && date.day < birth.day)
  age
end

birth = Time.utc(1990, 8, 15)
[Time.utc(2024, 8, 14), Time.utc(2024, 8, 15), Time.utc(2025, 1, 1)].map { |d| age_on(birth, d) }
