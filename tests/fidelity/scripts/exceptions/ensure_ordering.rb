trace = []
def step(trace, name, fail: false)
  trace << "start #{name}"
  raise ArgumentError, "#{name} failed" if fail
  trace << "done #{name}"
  name
ensure
  trace << "ensure #{name}"
end

r1 = step(trace, "a")
begin
  step(trace, "b", fail: true)
rescue ArgumentError => e
  trace << "rescued: #{e.message}"
else
  trace << "no error"
ensure
  trace << "outer ensure"
end
puts trace
r1
