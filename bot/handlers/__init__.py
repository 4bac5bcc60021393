"""Thin Telegram handlers: parse the update, call one use case, render the reply."""
