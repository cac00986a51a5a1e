config = {
  database: { primary: { host: "db1", port: 5432 }, replicas: [{ host: "db2" }, { host: "db3" }] },
  cache: nil,
}
puts config.dig(:database, :primary, :host)
puts config.dig(:database, :replicas, 1, :host)
puts config.dig(:cache, :ttl).inspect
puts config[:cache]&.fetch(:ttl).inspect
port = config.dig(:database, :primary, :port) || 3306
puts port
config.dig(:database, :replicas).map { |r| r[:host] }
