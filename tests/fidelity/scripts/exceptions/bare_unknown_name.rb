# Known difference (known_differences.txt): mruby compiles `foo` and `foo()` alike.
begin
  undefined_thing
rescue NameError => e
  puts "#{e.class}: #{e.message}"
end
