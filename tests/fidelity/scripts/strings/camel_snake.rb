def snake_case(s)
  s.gsub(/([A-Z]+)([A-Z][a-z])/, '\1_\2').gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase
end

def camel_case(s)
  s.split("_").map.with_index { |part, i| i.zero? ? part : part.capitalize }.join
end

%w[HTTPServerError userId simpleName].each { |w| puts "#{w} -> #{snake_case(w)}" }
%w[user_id created_at_time x].map { |w| camel_case(w) }
