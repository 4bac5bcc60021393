"""``activup demo``: the real bot against the simulated Telegram, shown in a browser.

Why: a team lead, a referent in training or a translator can see what the bot does
without a token, a network or a phone. Nothing here replaces a part of the bot: the
same Application, handlers, outbox and dispatcher as ``activup run`` talk over HTTP to
``bot.simulator``; the page only plays the people and moves the clock.
"""
