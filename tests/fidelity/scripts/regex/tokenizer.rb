TOKEN = /\s*(?:(\d+\.?\d*)|(.))/
def tokenize(src)
  src.scan(TOKEN).map { |num, op| num ? [:num, num.include?(".") ? num.to_f : num.to_i] : [:op, op] }
end

def evaluate(tokens)
  out = []
  tokens.each_slice(2) { |pair| out << pair }
  total = tokens.first[1]
  tokens.drop(1).each_slice(2) { |(_, op), (_, n)| total = total.send(op, n) }
  total
end

tokens = tokenize("12 + 3.5 * 2 - 1")
puts tokens.inspect
evaluate(tokens)
