"""ACTIV'UP Telegram bot: reminders, attendance and feedback for the CPAS of Charleroi."""
