"""Translation catalogues (``<lang>/LC_MESSAGES/messages.po``); French is the source language."""
