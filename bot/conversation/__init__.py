"""The conversation: one inbound message in, replies written to the outbox.

`core.Conversation` runs a turn; `claims` checks a claim; `commands` does everything else a
resident can ask; `replies` and `catalogue` render what residents read, in their language;
`publishing` turns staff answers into notifications.
"""
