raw = { "user" => { "name" => "Kim", "roles" => ["admin"] }, "active" => true }

def deep_symbolize(obj)
  case obj
  when Hash then obj.each_with_object({}) { |(k, v), h| h[k.to_sym] = deep_symbolize(v) }
  when Array then obj.map { |e| deep_symbolize(e) }
  else obj
  end
end

sym = deep_symbolize(raw)
puts sym.inspect
puts sym[:user][:name]
sym.dig(:user, :roles, 0)
