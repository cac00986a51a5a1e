files = %w[main.rb README.md test_main.rb lib.rb setup.py notes.txt]
puts files.grep(/\.rb\z/).inspect
puts files.grep_v(/\.rb\z/).inspect
puts files.find_all { |f| f.start_with?("test_") }.inspect
puts files.detect { |f| f.end_with?(".py") }
puts files.grep(/^(\w+)\.md$/) { $1.downcase }.inspect
puts (1..20).grep(5..8).inspect
files.sort_by { |f| [f[/\.\w+\z/].to_s, f] }
