"""Tables, sessions and migrations. Never imports Textual."""
