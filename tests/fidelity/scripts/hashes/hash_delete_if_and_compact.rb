record = { id: 7, name: "Widget", note: nil, tags: [], price: 0 }
puts record.compact.inspect
clean = record.reject { |_, v| v.nil? || (v.respond_to?(:empty?) && v.empty?) }
puts clean.inspect
record.delete_if { |k, _| k == :note }
puts record.keys.inspect
removed = record.delete(:tags)
puts removed.inspect
puts record.delete(:nope).inspect
record
