def caesar(text, shift)
  text.each_char.map do |c|
    if c =~ /[a-z]/
      ((c.ord - 97 + shift) % 26 + 97).chr
    elsif c =~ /[A-Z]/
      ((c.ord - 65 + shift) % 26 + 65).chr
    else
      c
    end
  end.join
end

secret = caesar("Hello, World!", 3)
puts secret
puts caesar(secret, -3)
secret
