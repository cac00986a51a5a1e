class LinkedList
  include Enumerable
  Node = Struct.new(:value, :next_node)

  def initialize(*values)
    @head = nil
    values.each { |v| push(v) }
  end

  def push(value)
    node = Node.new(value, nil)
    if @head.nil?
      @head = node
    else
      cur = @head
      cur = cur.next_node while cur.next_node
      cur.next_node = node
    end
    self
  end

  def each
    cur = @head
    while cur
      yield cur.value
      cur = cur.next_node
    end
  end

  def reverse!
    prev = nil
    cur = @head
    while cur
      cur.next_node, prev, cur = prev, cur, cur.next_node
    end
    @head = prev
    self
  end

  def to_s = "(#{to_a.join(' -> ')})"
end

list = LinkedList.new(1, 2, 3).push(4)
puts list
puts list.reverse!
puts list.map { |v| v * v }.inspect, list.count, list.include?(3)
list.select(&:even?)
