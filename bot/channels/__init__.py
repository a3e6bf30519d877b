"""Channel adapters: each turns platform payloads into `InboundMessage` and sends
`OutboundMessage`."""
