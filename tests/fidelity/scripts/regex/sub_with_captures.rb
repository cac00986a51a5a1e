dates = ["03/15/2024", "12/01/1999", "7/4/1776"]
iso = dates.map { |d| d.sub(%r{(\d{1,2})/(\d{1,2})/(\d{4})}) { format("%s-%02d-%02d", $3, $1.to_i, $2.to_i) } }
puts iso.inspect
puts "John Smith".sub(/(?<first>\w+) (?<last>\w+)/, '\k<last>, \k<first>')
puts "price: 100".sub(/\d+/) { |n| (n.to_i * 1.2).to_i.to_s }
s = +"hello world"
s.sub!(/o/, "0")
s.gsub!(/l/, "L")
puts s
puts "nothing".sub!(/z/, "y").inspect
iso.first
