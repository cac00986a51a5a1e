LINE = /\A(?<date>\d{4}-\d{2}-\d{2}) (?<time>[\d:]+) \[(?<level>[A-Z]+)\] (?<msg>.*)\z/
log = <<~LOG
  2024-03-01 10:00:01 [INFO] server started
  2024-03-01 10:05:22 [WARN] disk at 91%
  garbage line
  2024-03-01 10:06:00 [ERROR] connection refused
LOG
entries = log.each_line.filter_map { |l| LINE.match(l.chomp) }
entries.each { |m| puts "#{m[:level].ljust(5)} #{m[:time]} #{m[:msg]}" }
puts entries.first.names.inspect
entries.last.named_captures
