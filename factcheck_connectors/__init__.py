"""Sources that feed the knowledge base (fact-checkers, city statements), and publishing back.

See docs/connectors.md. The contracts other packages use:
`base` (Connector, FetchResult, SourceUnavailable, SourceInvalid), `registry.BUILTIN`,
`manage` (the panel's Sources page), `runner.Runner`, `web.routes`, `cli.register`,
`live.live_lookup`.
"""
