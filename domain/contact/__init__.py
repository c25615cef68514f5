"""Contact orchestration: the pure rules deciding whom to contact, how and when."""
