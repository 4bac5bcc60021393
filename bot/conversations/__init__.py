"""Multi-step typing flows, one ``ConversationHandler`` per file."""
