s = "héllo"
puts s.encoding
puts s.bytes.take(3).inspect
puts s.valid_encoding?
puts s.unpack("U*").inspect
puts [104, 233, 108].pack("U*")
puts "abc".ord
puts 955.chr(Encoding::UTF_8)
puts s.ascii_only?, "plain".ascii_only?
s.bytesize
