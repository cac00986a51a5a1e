def risky(kind)
  case kind
  when :arg then raise ArgumentError.new("bad arg")
  when :str then raise "plain string"
  when :cls then raise NotImplementedError
  when :custom then raise IndexError, "out of range", caller
  else :ok
  end
end

%i[arg str cls custom none].each do |k|
  r = risky(k)
  puts "#{k}: #{r.inspect}"
rescue StandardError => e
  puts "#{k}: #{e.class} - #{e.message}"
rescue NotImplementedError => e
  puts "#{k}: not implemented (#{e.class.superclass})"
end
NotImplementedError.ancestors.include?(StandardError)
