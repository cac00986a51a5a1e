require "json"
Row = Struct.new(:id, :city, :temp)
rows = [Row.new(1, "Oslo", -3.5), Row.new(2, "Rome", 14.0), Row.new(3, "Cairo", 24.25)]
json = JSON.generate(rows.map(&:to_h))
puts json
loaded = JSON.parse(json, symbolize_names: true)
warm = loaded.select { |r| r[:temp] > 0 }.map { |r| r[:city] }
puts warm.inspect
puts JSON.generate(loaded.to_h { |r| [r[:city], r[:temp]] })
loaded.sum { |r| r[:temp] }
