"""The conversation: one inbound message in, replies written to the outbox.

`core.Conversation` runs a turn; `claims` checks a claim; `commands` does everything else a
resident can ask; `publishing` turns staff answers into notifications. What residents read
(the catalogue, replies, buttons) is in `bot.texts`, the layer below.
"""
