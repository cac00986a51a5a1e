# Known difference (known_differences.txt): mruby 3.3 records no visibility.
class Account
  def initialize(balance) = @balance = balance

  protected

  def receive(amount) = @balance += amount

  private

  def balance = @balance
end

a = Account.new(100)
begin
  a.balance
rescue NoMethodError => e
  puts e.class
end
puts Account.private_method_defined?(:balance)
puts Account.public_method_defined?(:initialize) rescue puts $!.class
a.respond_to?(:receive)
