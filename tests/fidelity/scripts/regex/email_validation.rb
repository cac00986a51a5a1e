EMAIL = /\A[\w+\-.]+@[a-z\d\-]+(\.[a-z\d\-]+)*\.[a-z]+\z/i
candidates = ["user@example.com", "first.last+tag@sub.domain.org", "bad@", "no-at-sign.com", "UP@CASE.IO"]
candidates.each { |c| puts "#{c.ljust(30)} #{c.match?(EMAIL) ? 'valid' : 'invalid'}" }
candidates.grep(EMAIL).size
