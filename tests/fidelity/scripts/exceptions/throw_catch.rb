grid = [[1, 3, 5], [7, 42, 9], [11, 13, 42]]
found = catch(:found) do
  grid.each_with_index do |row, i|
    row.each_with_index do |v, j|
      throw :found, [i, j] if v == 42
    end
  end
  nil
end
puts found.inspect
r = catch(:done) { 10.times { |i| throw :done if i == 3 }; :never }
puts r.inspect
catch { |tag| throw tag, "anonymous" }
