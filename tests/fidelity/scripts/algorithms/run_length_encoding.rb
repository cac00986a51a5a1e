def rle_encode(s)
  s.chars.chunk_while { |a, b| a == b }.map { |run| "#{run.size}#{run.first}" }.join
end

def rle_decode(s)
  s.scan(/(\d+)(\D)/).map { |n, c| c * n.to_i }.join
end

inputs = ["WWWWWWWWWWWWBWWWWWWWWWWWWBBBWWWWWWWWWWWWWWWWWWWWWWWWBWWWWWWWWWWWWWW", "abc", "aabbbcccc"]
inputs.each do |s|
  enc = rle_encode(s)
  puts "#{enc} #{rle_decode(enc) == s}"
end
rle_encode("zzzzy")
