class Playlist
  include Enumerable

  def initialize(*songs)
    @songs = songs
  end

  def each(&block)
    @songs.each(&block)
    self
  end
end

list = Playlist.new(["Song A", 210], ["Song B", 185], ["Song C", 305])
puts list.map(&:first).inspect
puts list.sort_by(&:last).first.inspect
puts list.sum(&:last)
puts list.select { |_, len| len > 200 }.size
puts list.include?(["Song B", 185])
puts list.min_by(&:last).first, list.first.inspect, list.to_a.size
list.each_with_index.map { |(name, _), i| "#{i + 1}. #{name}" }
