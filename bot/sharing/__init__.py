"""Share cards: verified answers made to be passed on (images and forward-ready text)."""
