"""What residents read, and how a reply is written: the message catalogue (`locales/*.json`),
rendered replies and their buttons, the reply language, and the `Turn` every handler replies
through. The bottom layer of `bot/`: it imports no other sub-package (docs/architecture.md)."""
