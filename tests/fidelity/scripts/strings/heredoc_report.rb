name = "Ada"
items = 3
total = 42.5
report = <<~EOS
  Dear #{name},

    You ordered #{items} item#{items == 1 ? "" : "s"}.
    Total: $#{'%.2f' % total}

  Thanks!
EOS
puts report
report.lines.count
