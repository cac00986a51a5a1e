require "json"
payload = '[{"id":1,"status":"open","meta":{"prio":"high"}},{"id":2,"status":"closed","meta":{"prio":"low"}}]'
tickets = JSON.parse(payload, symbolize_names: true)
open = tickets.select { |t| t[:status] == "open" }
puts open.map { |t| t[:id] }.inspect
puts tickets.map { |t| t.dig(:meta, :prio) }.inspect
puts tickets.first.keys.inspect
tickets.last
