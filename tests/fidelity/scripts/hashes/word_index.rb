docs = {
  1 => "ruby is fun",
  2 => "python is fun too",
  3 => "ruby and python",
}
index = Hash.new { |h, k| h[k] = [] }
docs.each { |id, text| text.split.uniq.each { |w| index[w] << id } }
index.sort.each { |word, ids| puts "#{word.ljust(7)} #{ids.join(',')}" }
index.select { |_, ids| ids.size > 1 }.keys.sort
