stamps = [1_700_000_100, 1_700_000_900, 1_700_003_700, 1_700_003_999, 1_700_010_000, 1_700_000_050]
buckets = stamps.group_by { |s| Time.at(s).utc.strftime("%Y-%m-%d %H:00") }
buckets.sort.each { |hour, list| puts "#{hour}  #{'#' * list.size} #{list.size}" }
span = Time.at(stamps.max) - Time.at(stamps.min)
puts "span: #{span.to_i}s"
buckets.keys.sort.last
