class FlakyService
  def initialize(failures)
    @failures = failures
    @calls = 0
  end

  def call
    @calls += 1
    raise IOError, "timeout on attempt #{@calls}" if @calls <= @failures
    "ok after #{@calls}"
  end
end

def with_retries(max:, log:)
  attempts = 0
  begin
    attempts += 1
    yield
  rescue IOError => e
    log << "#{e.message}, backoff #{2**attempts}"
    retry if attempts < max
    "gave up: #{e.message}"
  end
end

log = []
patient = FlakyService.new(2)
impatient = FlakyService.new(9)
puts with_retries(max: 5, log: log) { patient.call }
puts with_retries(max: 2, log: log) { impatient.call }
puts log
log.size
