pages = [1, 2, 3, 7, 8, 10, 11, 12, 15]
ranges = pages.chunk_while { |a, b| b == a + 1 }.map do |run|
  run.size > 1 ? "#{run.first}-#{run.last}" : run.first.to_s
end
puts ranges.join(", ")
words = %w[apple avocado banana blueberry cherry apricot]
puts words.slice_when { |a, b| a[0] != b[0] }.to_a.inspect
puts words.chunk { |w| w[0] }.map { |letter, ws| "#{letter}:#{ws.size}" }.join(" ")
ranges
