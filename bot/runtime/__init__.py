"""The running product: roles and the web app, wiring services from settings, the CLI,
logs and metrics."""
