MAZE = <<~M.lines.map(&:chomp)
  S.#.....
  .##.###.
  ....#...
  .##...#E
M

def bfs(maze)
  rows = maze.size
  cols = maze[0].size
  start = nil
  maze.each_with_index { |row, r| c = row.index("S"); start = [r, c] if c }
  queue = [[start, 0]]
  seen = { start => true }
  until queue.empty?
    (r, c), d = queue.shift
    return d if maze[r][c] == "E"
    [[0, 1], [1, 0], [0, -1], [-1, 0]].each do |dr, dc|
      nr, nc = r + dr, c + dc
      next if nr.negative? || nc.negative? || nr >= rows || nc >= cols
      next if maze[nr][nc] == "#" || seen[[nr, nc]]
      seen[[nr, nc]] = true
      queue << [[nr, nc], d + 1]
    end
  end
  -1
end

puts "shortest path: #{bfs(MAZE)}"
MAZE.sum { |row| row.count("#") }
