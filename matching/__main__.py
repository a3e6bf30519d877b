from matching.cli import app

app()
