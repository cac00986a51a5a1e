class AppError < StandardError; end

class ValidationError < AppError
  attr_reader :field

  def initialize(field, msg = "is invalid")
    @field = field
    super("#{field} #{msg}")
  end
end

class NotFoundError < AppError
  def initialize(msg = "resource not found")
    super
  end
end

def handle
  yield
rescue ValidationError => e
  "validation: #{e.message} (field=#{e.field})"
rescue AppError => e
  "app: #{e.message} [#{e.class}]"
end

puts handle { raise ValidationError.new(:email, "can't be blank") }
puts handle { raise NotFoundError }
puts handle { raise NotFoundError, "user 7 missing" }
puts handle { "fine" }
ValidationError.ancestors.take(4)
