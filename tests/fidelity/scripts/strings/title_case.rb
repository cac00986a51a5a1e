SMALL = %w[a an the of and or in on at to].freeze

def title_case(s)
  s.split.map.with_index do |word, i|
    if i > 0 && SMALL.include?(word.downcase)
      word.downcase
    else
      word.capitalize
    end
  end.join(" ")
end

["the lord of the rings", "a tale OF two cities", "war and peace"].map { |s| title_case(s) }
