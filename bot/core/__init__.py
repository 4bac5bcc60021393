"""The rules of the programme: no Telegram import here, only plain values and the database."""
