RULES = {
  "at least 8 chars" => /.{8,}/,
  "a digit" => /\d/,
  "an uppercase letter" => /[A-Z]/,
  "a symbol" => /[^A-Za-z0-9]/,
}.freeze

def check(pw)
  missing = RULES.reject { |_, re| pw.match?(re) }.keys
  missing.empty? ? "strong" : "needs #{missing.join(', ')}"
end

%w[abc Password1 Pa$$w0rd! longbutweak].each { |pw| puts "#{pw}: #{check(pw)}" }
check("X1!x")
