class Account
  attr_reader :owner
  attr_accessor :nickname

  def initialize(owner, balance)
    @owner = owner
    @balance = balance
  end

  def transfer_to(other, amount)
    return false if amount > balance
    self.balance -= amount
    other.receive(amount)
    true
  end

  def report
    "#{owner}: #{balance}"
  end

  protected

  def receive(amount)
    self.balance += amount
  end

  private

  attr_writer :balance

  def balance
    @balance
  end
end

a = Account.new("ann", 100)
b = Account.new("bob", 20)
puts a.transfer_to(b, 70), a.transfer_to(b, 70)
puts a.report, b.report
puts Account.method_defined?(:report), Account.method_defined?(:nickname=)
a.nickname = "A"
[a.nickname, b.nickname, a.owner]
