DAY = 86_400
today = Time.utc(2024, 6, 30)
invoices = [
  ["INV-001", Time.utc(2024, 6, 20), 1200.0],
  ["INV-002", Time.utc(2024, 5, 10), 560.25],
  ["INV-003", Time.utc(2024, 3, 1), 89.99],
  ["INV-004", Time.utc(2024, 6, 29), 45.0],
]
buckets = Hash.new(0.0)
invoices.each do |id, issued, amount|
  due = issued + 30 * DAY
  days_late = ((today - due) / DAY).floor
  bucket = if days_late <= 0 then "current"
           elsif days_late <= 30 then "1-30"
           elsif days_late <= 60 then "31-60"
           else "60+"
           end
  buckets[bucket] += amount
  puts "#{id} due #{due.strftime('%Y-%m-%d')} #{days_late.positive? ? "#{days_late} days late" : 'not due'}"
end
buckets.transform_values { |v| v.round(2) }
