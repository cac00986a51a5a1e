require "json"
response = <<~JSON
  {
    "page": 1,
    "per_page": 3,
    "total": 7,
    "data": [
      {"id": 1, "first_name": "George", "last_name": "Bluth"},
      {"id": 2, "first_name": "Janet", "last_name": "Weaver"},
      {"id": 3, "first_name": "Emma", "last_name": "Wong"}
    ]
  }
JSON
body = JSON.parse(response)
pages = (body["total"].to_f / body["per_page"]).ceil
puts "page #{body['page']} of #{pages}"
body["data"].each { |u| puts "#{u['id']}: #{u['last_name']}, #{u['first_name']}" }
summary = { count: body["data"].size, names: body["data"].map { |u| u["first_name"] } }
JSON.generate(summary)
