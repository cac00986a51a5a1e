require "json"
samples = ["tab\there", "slash/ok", "ctrl\u0001", "emoji 😀", "<script>", "line\r\nbreak", "\u00e9"]
samples.each { |s| puts JSON.generate(s) }
puts JSON.parse('"\\u00e9\\n\\u0041\\ud83d\\ude00"').inspect
puts JSON.parse('["\\/", "\\"q\\""]').inspect
JSON.generate({ "k" => "v\"" })
