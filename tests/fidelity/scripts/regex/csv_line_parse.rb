def parse_csv_line(line)
  line.scan(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/).map do |quoted, plain|
    quoted ? quoted.gsub('""', '"') : plain
  end
end

lines = ['a,b,c', '"hello, world",2,"say ""hi"""', 'x,,z', '"",only']
lines.each { |l| puts parse_csv_line(l).inspect }
parse_csv_line(lines[1]).length
