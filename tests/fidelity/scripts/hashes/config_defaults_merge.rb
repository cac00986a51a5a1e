DEFAULTS = { timeout: 30, retries: 3, verbose: false, headers: { "Accept" => "json" } }.freeze

def build_config(overrides = {})
  cfg = DEFAULTS.merge(overrides)
  cfg[:headers] = DEFAULTS[:headers].merge(overrides.fetch(:headers, {}))
  cfg
end

puts build_config.inspect
puts build_config(retries: 5, headers: { "X-Id" => "7" }).inspect
puts DEFAULTS.frozen?
build_config(verbose: true).values_at(:timeout, :verbose)
