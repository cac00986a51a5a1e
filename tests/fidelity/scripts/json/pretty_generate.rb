require "json"
report = {
  "title" => "Q1",
  "items" => [{ "sku" => "A1", "qty" => 2 }, { "sku" => "B2", "qty" => 0 }],
  "empty_list" => [],
  "empty_hash" => {},
  "meta" => { "generated" => true, "version" => 1.5 },
}
puts JSON.pretty_generate(report)
JSON.pretty_generate([]).inspect
