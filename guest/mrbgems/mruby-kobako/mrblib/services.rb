# The Ruby face of Service proxies and Handles (the C side is src/services.c).
module Kobako
  # A Service raised; the message starts with the Python exception class.
  class ServiceError < StandardError; end
  # The Handle belongs to no live object of this run.
  class DisconnectedError < ServiceError; end
  # The target or method does not exist, or the host refuses it.
  class NoServiceError < NoMethodError; end
  # The run created more Handles than a run may hold.
  class HandleExhaustedError < StandardError; end

  class Proxy
    def method_missing(name, *args, **kwargs, &block)
      ::Kernel.raise ::ArgumentError, "Kobako services take no block" if block
      ::Kobako.__call(self, name, args, kwargs)
    end

    def respond_to_missing?(name, include_private = false) = true

    def inspect = "#<#{::Kobako::Proxy.__kind(self)} #{::Kobako.__describe(self)}>"
    alias to_s inspect

    def self.__kind(proxy) = ::Kobako.__describe(proxy).start_with?("#") ? "Kobako::Handle" : "Kobako::Service"
  end
end

module Kobako
  # The run made more Service calls than its max_service_calls.
  class ServiceCallLimitError < StandardError; end
  # A Service call or reply was larger than max_message_bytes.
  class MessageSizeError < StandardError; end
end
