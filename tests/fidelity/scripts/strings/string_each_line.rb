csv = "id,name,score\n1,ann,90\n2,bob,72\n3,cy,85\n"
header, *rows = csv.each_line.map { |l| l.chomp.split(",") }
records = rows.map { |r| header.zip(r).to_h }
records.each { |r| puts "#{r['name'].capitalize}: #{r['score'].to_i >= 80 ? 'pass' : 'fail'}" }
avg = records.sum { |r| r["score"].to_i } / records.size.to_f
puts "average #{avg.round(2)}"
records.last
