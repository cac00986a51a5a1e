PAIRS = { ")" => "(", "]" => "[", "}" => "{" }.freeze

def balanced?(s)
  stack = []
  s.each_char do |c|
    if PAIRS.value?(c)
      stack.push(c)
    elsif PAIRS.key?(c)
      return false unless stack.pop == PAIRS[c]
    end
  end
  stack.empty?
end

exprs = ["(a[0] + b{1})", "([)]", "((())", "", "{[()()]}"]
exprs.each { |e| puts "#{e.inspect.ljust(16)} #{balanced?(e)}" }

def rpn(expr)
  expr.split.each_with_object([]) do |tok, st|
    if tok.match?(/\A-?\d+\z/)
      st << tok.to_i
    else
      b, a = st.pop, st.pop
      st << a.send(tok, b)
    end
  end.last
end
[rpn("3 4 + 2 *"), rpn("5 1 2 + 4 * + 3 -")]
