def levenshtein(a, b)
  prev = (0..b.length).to_a
  a.each_char.with_index(1) do |ca, i|
    cur = [i]
    b.each_char.with_index(1) do |cb, j|
      cur << [prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb ? 0 : 1)].min
    end
    prev = cur
  end
  prev.last
end

def lcs(a, b)
  dp = Array.new(a.size + 1) { Array.new(b.size + 1, "") }
  a.each_char.with_index do |x, i|
    b.each_char.with_index do |y, j|
      dp[i + 1][j + 1] = x == y ? dp[i][j] + x : [dp[i][j + 1], dp[i + 1][j]].max_by(&:size)
    end
  end
  dp[a.size][b.size]
end

[%w[kitten sitting], %w[flaw lawn], %w[ruby rubies], ["", "abc"]].each do |a, b|
  puts "#{a} -> #{b}: distance #{levenshtein(a, b)}, lcs #{lcs(a, b).inspect}"
end
levenshtein("saturday", "sunday")
