require "json"
inputs = ['{"a": 1', "[1, 2,]", "", '{"ok": true}', "nul", '{"a" 1}']
inputs.each do |src|
  begin
    v = JSON.parse(src)
    puts "ok: #{v.inspect}"
  rescue JSON::ParserError => e
    puts "parse error for #{src.inspect}"
  end
end
JSON::ParserError.ancestors.include?(StandardError)
