# SecureRandom on the run's Random stream (seeded per run by the host).
module SecureRandom
  def self.random_bytes(n = 16)
    s = ""
    n.times { s << rand(256).chr }
    s
  end

  def self.hex(n = 16)
    s = ""
    n.times { s << format("%02x", rand(256)) }
    s
  end

  def self.uuid
    h = hex(16)
    v = (h[12, 4].to_i(16) & 0x0fff | 0x4000).to_s(16)
    r = (h[16, 4].to_i(16) & 0x3fff | 0x8000).to_s(16)
    "#{h[0, 8]}-#{h[8, 4]}-#{v}-#{r}-#{h[20, 12]}"
  end

  def self.random_number(n = 0)
    n == 0 ? rand : rand(n)
  end

  ALPHANUMERIC = [*"A".."Z", *"a".."z", *"0".."9"]
  def self.alphanumeric(n = 16)
    s = ""
    n.times { s << ALPHANUMERIC[rand(62)] }
    s
  end
end
