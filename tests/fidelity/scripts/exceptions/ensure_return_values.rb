def with_ensure
  :body
ensure
  :ensure_value
end

def explicit_return_in_ensure
  yield
ensure
  puts "cleanup ran"
end

puts with_ensure.inspect
puts explicit_return_in_ensure { 5 }
counter = 0
begin
  counter += 1
  raise "again" if counter < 3
  puts "succeeded on #{counter}"
rescue
  retry
end
counter
