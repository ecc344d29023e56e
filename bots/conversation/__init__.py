"""Everything a person can say to idkarr and everything it answers, once, for every front end.

Front ends (console, Discord, Telegram) turn their input into `Conversation.say` / `Conversation.press` calls
and render the `Reply` they get back; no rule lives in a front end.
"""
