# Known difference (known_differences.txt): the sandbox has no File.
%w[main.rb README.md setup.py].map { |f| File.extname(f) }
