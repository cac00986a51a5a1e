class Report
  %w[daily weekly monthly].each_with_index do |period, i|
    define_method("#{period}_limit") { (i + 1) * 100 }
  end

  def self.build(&block)
    r = new
    r.instance_eval(&block)
    r
  end

  def title(t = nil)
    t ? @title = t : @title
  end
end

r = Report.new
puts r.daily_limit, r.monthly_limit
obj = Object.new
def obj.shout(s) = s.upcase
puts obj.shout("hi")
puts obj.singleton_methods.inspect
built = Report.build { title "Quarterly" }
puts built.title
puts Report.instance_methods(false).sort.inspect
r.respond_to?(:weekly_limit)
