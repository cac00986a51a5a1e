require "json"
text = '{"user": {"id": 17, "name": "Li", "email": null, "score": 4.5, "tags": ["x", "y"], "admin": false}}'
data = JSON.parse(text)
puts data["user"]["name"]
puts data["user"]["score"] * 2
puts data["user"]["email"].inspect
puts data.dig("user", "tags").inspect
puts data["user"].keys.inspect
data
